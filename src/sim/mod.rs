//! A local stand-in for the agency's FTPS Gateway: the same ports, TLS and login rules, folders, status files and
//! refusals, on a real FTPS server (libunftp), for tests, the demo and offline integration work.
//!
//! ```no_run
//! use gateway::sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::new("/tmp/gw-sim"))?;
//! println!("new gateway on 127.0.0.1:{}, user {}", sim.port(), sim.client().username);
//! sim.stop();
//! # Ok::<(), gateway::Error>(())
//! ```
//!
//! Folder layout (`DIR` = [`SimConfig::dir`]): the PKI and client files (see [`pki`]), then
//! - `users/<username>/`: the certificate's root on the new gateway: `out/` and one folder per allowed service;
//! - `legacy/<username>/`: its root on the legacy gateway: `out/` and `<ID>/` (e.g. `UID_9876543210/`) holding
//!   the service folders and the migration service `NyFTPSLoginInfo/Ny_FTPS_Login_Info.txt`;
//! - `.gateway/` inside each root (hidden from FTP): `used-names` (every filename the certificate has used),
//!   `received/<service>/` (the files submitted), `pending/` (the progress of files not yet answered in full,
//!   so that a simulator restarted on the same folder carries on, as the real gateway does), and temporary
//!   files.
//!
//! Rules of the new gateway: TLS 1.2 only; a registered client certificate; the user name derived from it; its
//! password. Upload only into a service folder of the certificate's roles, download and delete only in `out`,
//! no folders made, renames only within `out`. Each filename once per certificate: a reused name is taken at the
//! FTP level and answered with a status_0 `FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION`. A new file gets status 1
//! (delivered), 2 (accepted), and for services that answer a response file and status 3; `FTPSGW.Heartbeat`
//! answers with status 1 only. While the backend is down nothing is delivered and no status is written.
//!
//! The legacy gateway (second port) logs in on the certificate alone (any user name, or anonymous), still speaks
//! the old error codes (`SERVICE_DOES_NOT_EXIST`, `BACKEND_SYSTEM_NOT_AVAILABLE`) and offers the migration file
//! with the certificate's new-gateway password, in the format
//! `Username: CVR_..._UID_...\nPassword: ...\n`. (The real legacy gateway speaks TLS 1.0, which rustls cannot
//! serve: the simulator speaks TLS 1.2 on both ports.)

pub mod demo;
pub mod faults;
pub mod pki;
pub mod status;

mod auth;
mod storage;
mod tls_switch;

pub use faults::Fault;
pub use pki::{CertKind, ClientFiles};
pub use status::StatusCode;
pub use tls_switch::TlsSwitchCounts;

use crate::error::{Error, ErrorKind, Result};
use faults::{FaultState, PassiveBinder, Relay};
use libunftp::options::{FtpsClientAuth, FtpsRequired, TlsFlags};
use libunftp::ServerBuilder;
use status::{GatewayError, Status};
use tls_switch::{SwitchSpy, TlsSwitches};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The migration service folder on the legacy gateway.
pub const LOGIN_INFO_SERVICE: &str = "NyFTPSLoginInfo";
/// The migration file in it.
pub const LOGIN_INFO_FILE: &str = "Ny_FTPS_Login_Info.txt";
/// The service that only answers with status files.
pub const HEARTBEAT_SERVICE: &str = "FTPSGW.Heartbeat";

/// The ICS and Manifest services, plus the heartbeat: what a certificate with no explicit roles may use.
pub const SERVICES: &[&str] = &[
    "SummariskIndgangsangivelseOpdaterService",
    "SummariskIndgangsangivelseOpretService",
    "SummariskIndgangsangivelseSamlingOmdirigerService",
    "Manifest.AfgangsdeklarationOpdater",
    "Manifest.AfgangsdeklarationOpret",
    "Manifest.AfgangsdeklarationSlet",
    "Manifest.AnkomstdeklarationOpdater",
    "Manifest.AnkomstdeklarationOpret",
    "Manifest.AnkomstdeklarationSlet",
    "Manifest.EksternAnkomstOgAfgangsIndberetningOpret",
    "Manifest.MidlertidigOpbevaringOpdater",
    "Manifest.MidlertidigOpbevaringOpret",
    "Manifest.MidlertidigOpbevaringOpsplitOpret",
    "Manifest.MidlertidigOpbevaringSlet",
    "Manifest.TolddokumentSamlingHent",
    HEARTBEAT_SERVICE,
];

/// Which gateway a port plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// The gateway on 6371: certificate-only login, old error codes, the migration file.
    Legacy,
    /// The gateway on 6381: certificate + user name + password.
    New,
}

/// One client certificate the simulator mints (on first start) and knows.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// A short name: `client` is the first certificate (its files sit in the simulator folder itself), others
    /// live in `clients/<label>/`.
    pub label: String,
    pub kind: CertKind,
    /// The services this certificate may use; empty = all of [`SERVICES`].
    pub roles: Vec<String>,
    /// Whether the agency knows the certificate. An unregistered one is signed by the same CA but cannot log in.
    pub registered: bool,
}

impl ClientSpec {
    pub fn new(label: &str, kind: CertKind) -> Self {
        ClientSpec { label: label.to_string(), kind, roles: Vec::new(), registered: true }
    }

    pub fn voces(label: &str, cvr: &str, uid: &str) -> Self {
        Self::new(label, CertKind::Voces { cvr: cvr.into(), uid: uid.into() })
    }

    pub fn moces(label: &str, cvr: &str, rid: &str) -> Self {
        Self::new(label, CertKind::Moces { cvr: cvr.into(), rid: rid.into() })
    }

    pub fn oces3(label: &str, cvr: &str, uuid: &str) -> Self {
        Self::new(label, CertKind::Oces3 { cvr: cvr.into(), uuid: uuid.into() })
    }

    /// Limits the certificate to these services.
    pub fn with_roles(mut self, roles: &[&str]) -> Self {
        self.roles = roles.iter().map(|r| r.to_string()).collect();
        self
    }

    /// Makes it a certificate the agency does not know.
    pub fn unregistered(mut self) -> Self {
        self.registered = false;
        self
    }
}

/// How long the simulated backend takes for each step after an upload completes.
#[derive(Clone, Copy, Debug)]
pub struct Delays {
    /// Upload complete -> status 1 (or status 0 for a refused upload).
    pub delivered: Duration,
    /// Status 1 -> status 2.
    pub accepted: Duration,
    /// Status 2 -> response file + status 3.
    pub response: Duration,
}

impl Default for Delays {
    fn default() -> Self {
        Delays { delivered: Duration::from_millis(50), accepted: Duration::from_millis(100), response: Duration::from_millis(100) }
    }
}

/// How to run the simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The simulator folder: PKI, client files, user roots. Created when missing; its PKI is reused.
    pub dir: PathBuf,
    /// The address to listen on (loopback by default; `0.0.0.0` or `::` for every address).
    pub host: IpAddr,
    /// Further host names or addresses clients will use to reach the simulator (a shared test machine, a
    /// latency proxy on 127.0.0.2). The server certificate covers these, the listen address (unless it is
    /// unspecified) and the loopback names; the first one goes into `client.toml`.
    pub server_names: Vec<String>,
    /// The new gateway's control port; 0 picks a free one.
    pub port: u16,
    /// The legacy gateway's control port; 0 picks a free one; `None` runs no legacy gateway.
    pub legacy_port: Option<u16>,
    /// The passive data ports (the agency's new gateway uses 36000-39999).
    pub data_ports: RangeInclusive<u16>,
    /// The client certificates; the first is the main one (`DIR/client.p12`, ...).
    pub clients: Vec<ClientSpec>,
    pub delays: Delays,
    /// Services that answer with a response file (status 3); `None` = all but the heartbeat.
    pub answering_services: Option<Vec<String>>,
}

impl SimConfig {
    /// Loopback, free ports, one VOCES certificate (CVR 12345678, UID 9876543210) with every service.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SimConfig {
            dir: dir.into(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            server_names: Vec::new(),
            port: 0,
            legacy_port: Some(0),
            data_ports: 36000..=39999,
            clients: vec![ClientSpec::voces("client", "12345678", "9876543210")],
            delays: Delays::default(),
            answering_services: None,
        }
    }
}

/// A certificate as the simulated agency knows it.
#[derive(Debug)]
pub(crate) struct KnownClient {
    pub(crate) username: String,
    pub(crate) cvr: String,
    /// The user name after `CVR_<cvr>_`: `UID_<uid>`, `RID_<rid>`, `UI_<uuid>`.
    pub(crate) id_folder: String,
    pub(crate) roles: Vec<String>,
    pub(crate) gateway_password: crate::Secret,
    pub(crate) fingerprint: [u8; 32],
    pub(crate) registered: bool,
}

/// State shared by both gateways and the backend.
#[derive(Debug)]
pub(crate) struct SimShared {
    dir: PathBuf,
    clients: Vec<KnownClient>,
    delays: Delays,
    answering_services: Option<Vec<String>>,
    backend_up: watch::Sender<bool>,
    pub(crate) faults: Arc<FaultState>,
    tls_switches: Arc<TlsSwitches>,
    /// Serialises the check-and-record of used names.
    names: tokio::sync::Mutex<()>,
    /// Serialises lines of the audit record.
    audit_lock: tokio::sync::Mutex<()>,
    sequence: AtomicU64,
}

/// What the simulator's audit record notes (see [`SimHandle::audit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditEvent {
    /// A complete upload was accepted into a service as a new transaction (not one refused as a reused name).
    Received,
    /// A file was published in `out` (a status or response file).
    Published,
    /// A client deleted a file in `out`.
    Deleted,
}

impl AuditEvent {
    fn as_str(self) -> &'static str {
        match self {
            AuditEvent::Received => "received",
            AuditEvent::Published => "published",
            AuditEvent::Deleted => "deleted",
        }
    }

    fn parse(text: &str) -> Option<AuditEvent> {
        [AuditEvent::Received, AuditEvent::Published, AuditEvent::Deleted].into_iter().find(|e| e.as_str() == text)
    }
}

/// One line of the audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub event: AuditEvent,
    /// `new` or `legacy`.
    pub gateway: String,
    pub username: String,
    /// The file's name (for `Received`: the transaction's filename).
    pub name: String,
    /// SHA-256 of the file's content, hex.
    pub sha256: String,
}

impl SimShared {
    /// Appends one line to the simulator's own record of what it took and gave (`<dir>/audit.log`, see
    /// [`SimHandle::audit`]): what tests compare a client's journal and inbox with.
    pub(crate) async fn audit(&self, event: AuditEvent, generation: Generation, username: &str, name: &str, contents: &[u8]) {
        let line = audit_line(event, generation, username, name, contents);
        let path = self.dir.join("audit.log");
        let written = async {
            use tokio::io::AsyncWriteExt;
            let _guard = self.audit_lock.lock().await;
            let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(&path).await?;
            file.write_all(line.as_bytes()).await?;
            file.flush().await
        };
        if let Err(e) = written.await {
            log::error!("simulator: cannot write its audit record {}: {e}", path.display());
        }
    }

    pub(crate) fn registered_client(&self, certificate_der: &[u8]) -> Option<&KnownClient> {
        let fingerprint = pki::sha256(certificate_der);
        self.clients.iter().find(|c| c.registered && c.fingerprint == fingerprint)
    }

    pub(crate) fn client_by_username(&self, username: &str) -> Option<&KnownClient> {
        self.clients.iter().find(|c| c.registered && c.username == username)
    }

    pub(crate) fn users_dir(&self, generation: Generation) -> PathBuf {
        match generation {
            Generation::New => self.dir.join("users"),
            Generation::Legacy => self.dir.join("legacy"),
        }
    }

    pub(crate) fn user_root(&self, generation: Generation, username: &str) -> PathBuf {
        self.users_dir(generation).join(username)
    }

    pub(crate) fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn answers(&self, service: &str) -> bool {
        match &self.answering_services {
            Some(list) => list.iter().any(|s| s == service),
            None => service != HEARTBEAT_SERVICE,
        }
    }

    async fn backend_available(&self) {
        let mut up = self.backend_up.subscribe();
        let _ = up.wait_for(|up| *up).await;
    }

    /// An upload has been stored completely (at `incoming`): apply the gateway's rules and answer with status
    /// files. Returns once the FTP-level decision is made; the status files follow in the background.
    pub(crate) async fn accept_upload(self: Arc<Self>, generation: Generation, username: &str, service: &str, name: &str, incoming: PathBuf) {
        let Some(client) = self.client_by_username(username) else { return };
        let root = self.user_root(generation, username);
        let hidden = root.join(storage::HIDDEN);
        let submission = Submission {
            root: root.clone(),
            path: match generation {
                Generation::New => format!("/CVR_{}/{}/{service}/{name}", client.cvr, client.id_folder),
                Generation::Legacy => format!("/CVR_{}/{}/{service}/{name}", client.cvr, client.id_folder),
            },
            name: name.to_string(),
            service: service.to_string(),
            skat_transaction_id: format!("ci{}_{}_{}", unix_millis(), client.cvr, self.next_sequence()),
        };
        let legacy_error = if generation == Generation::Legacy && !client.roles.iter().any(|r| r == service) {
            Some(GatewayError {
                code: "SERVICE_DOES_NOT_EXIST",
                message: format!("The service {service} does not exist."),
                resolution: "Upload into one of the service folders the gateway shows.".to_string(),
            })
        } else if generation == Generation::Legacy && !*self.backend_up.borrow() {
            Some(GatewayError {
                code: "BACKEND_SYSTEM_NOT_AVAILABLE",
                message: format!("The backend system for {service} is not available."),
                resolution: "Send the file again later under a new name.".to_string(),
            })
        } else {
            None
        };
        if let Some(error) = legacy_error {
            let _ = tokio::fs::remove_file(&incoming).await;
            let this = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(this.delays.delivered).await;
                this.write_status(&submission, StatusCode::Error, None, Some(&error)).await;
            });
            return;
        }
        if generation == Generation::New {
            let _guard = self.names.lock().await;
            let record = hidden.join("used-names");
            let used = tokio::fs::read_to_string(&record).await.unwrap_or_default();
            if used.lines().any(|line| line == name) {
                log::info!("simulator: {username} reused the filename {name}");
                let _ = tokio::fs::remove_file(&incoming).await;
                let error = GatewayError {
                    code: "FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION",
                    message: format!("The filename {name} has been used before by this certificate."),
                    resolution: "Send the file again under a new, unique filename.".to_string(),
                };
                let this = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(this.delays.delivered).await;
                    this.write_status(&submission, StatusCode::Error, None, Some(&error)).await;
                });
                return;
            }
            if let Err(e) = append_line(&record, name).await {
                log::error!("simulator: cannot record the used name in {}: {e}", record.display());
            }
        }
        let received = hidden.join("received").join(service);
        let _ = tokio::fs::create_dir_all(&received).await;
        if let Err(e) = tokio::fs::rename(&incoming, received.join(name)).await {
            log::warn!("simulator: cannot keep the received file {name}: {e}");
        }
        if let Ok(contents) = tokio::fs::read(received.join(name)).await {
            self.audit(AuditEvent::Received, generation, username, name, &contents).await;
        }
        let work = Work { submission, answers: self.answers(service), done: 0, resumed: false };
        work.save().await;
        tokio::spawn(self.clone().process(work));
    }

    /// The backend's work on one accepted file: status 1, then 2, then response + 3. Each step is recorded
    /// (see [`Work`]), so a simulator restarted in the same folder carries on where it stopped.
    async fn process(self: Arc<Self>, mut work: Work) {
        if work.done < 1 {
            tokio::time::sleep(self.delays.delivered).await;
            self.backend_available().await;
            self.write_step(&work, StatusCode::Delivered, None).await;
            work.step(1).await;
        }
        let submission = &work.submission;
        if submission.service == HEARTBEAT_SERVICE {
            return work.finish().await;
        }
        if work.done < 2 {
            tokio::time::sleep(self.delays.accepted).await;
            self.backend_available().await;
            self.write_step(&work, StatusCode::Accepted, None).await;
            work.step(2).await;
        }
        let submission = &work.submission;
        if !work.answers {
            return work.finish().await;
        }
        tokio::time::sleep(self.delays.response).await;
        self.backend_available().await;
        let response_name = format!("response_{}_{}", submission.service, submission.name);
        let body = status::response_xml(&submission.service, &submission.name, &submission.skat_transaction_id, &timestamp());
        if self.publish(&submission.root, &response_name, &body).await {
            let response_path = format!("/out/{response_name}");
            self.write_step(&work, StatusCode::ResponseExposed, Some(&response_path)).await;
        }
        work.finish().await;
    }

    /// Takes up the work a stopped simulator left unfinished in this folder.
    fn resume_unfinished_work(self: &Arc<Self>) {
        for generation in [Generation::New, Generation::Legacy] {
            for client in &self.clients {
                let root = self.user_root(generation, &client.username);
                let Ok(entries) = std::fs::read_dir(root.join(storage::HIDDEN).join("pending")) else { continue };
                for entry in entries.filter_map(|e| e.ok()) {
                    match Work::load(&root, &entry.path()) {
                        Some(mut work) => {
                            work.resumed = true;
                            log::info!("simulator: resuming {} after status {}", work.submission.name, work.done);
                            tokio::spawn(self.clone().process(work));
                        }
                        None => log::warn!("simulator: cannot read the pending record {}", entry.path().display()),
                    }
                }
            }
        }
    }

    /// Writes a status of a submission's backend work, unless a resumed work already published it.
    async fn write_step(&self, work: &Work, code: StatusCode, response: Option<&str>) {
        let s = &work.submission;
        if work.resumed {
            let file_name = status::status_file_name(&s.service, &s.name, code);
            let published = std::fs::read_to_string(self.dir.join("audit.log"))
                .unwrap_or_default()
                .lines()
                .any(|line| line.split('\t').nth(1) == Some("published") && line.split('\t').nth(4) == Some(file_name.as_str()));
            if published {
                log::info!("simulator: {file_name} was published before the restart; not again");
                return;
            }
        }
        self.write_status(s, code, response, None).await;
    }

    async fn write_status(&self, submission: &Submission, code: StatusCode, response: Option<&str>, error: Option<&GatewayError>) {
        let xml = status::status_xml(&Status {
            path: &submission.path,
            transaction_name: &submission.name,
            skat_transaction_id: &submission.skat_transaction_id,
            timestamp: &timestamp(),
            code,
            service: &submission.service,
            response,
            error,
        });
        let file_name = status::status_file_name(&submission.service, &submission.name, code);
        self.publish(&submission.root, &file_name, &xml).await;
    }

    /// Writes a file into `out` atomically: a client never sees it half-written.
    /// Puts a file into `out` (written aside, then renamed) and records it in the audit log. The two happen in
    /// one blocking task, which runs to its end even when the simulator is stopped meanwhile: a stop between
    /// the rename and the record would make the resumed submission publish the same status file again.
    async fn publish(&self, root: &Path, file_name: &str, contents: &[u8]) -> bool {
        let tmp = root.join(storage::HIDDEN).join("tmp").join(format!("{}-{file_name}", self.next_sequence()));
        let target = root.join("out").join(file_name);
        let audit_path = self.dir.join("audit.log");
        let line = self.owner_of(root).map(|(generation, username)| audit_line(AuditEvent::Published, generation, &username, file_name, contents));
        let contents = contents.to_vec();
        let task = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let written = (|| {
                if let Some(parent) = tmp.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&tmp, &contents)?;
                std::fs::rename(&tmp, &target)
            })();
            if let Err(e) = written {
                log::error!("simulator: cannot write {}: {e}", target.display());
                return false;
            }
            log::debug!("simulator: wrote {}", target.display());
            if let Some(line) = line {
                let appended = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&audit_path)
                    .and_then(|mut file| file.write_all(line.as_bytes()));
                if let Err(e) = appended {
                    log::error!("simulator: cannot write its audit record {}: {e}", audit_path.display());
                }
            }
            true
        });
        task.await.unwrap_or(false)
    }

    /// The gateway and user a user root belongs to.
    fn owner_of(&self, root: &Path) -> Option<(Generation, String)> {
        let username = root.file_name()?.to_string_lossy().into_owned();
        [Generation::New, Generation::Legacy].into_iter().find(|g| self.user_root(*g, &username) == root).map(|g| (g, username))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Submission {
    #[serde(skip)]
    root: PathBuf,
    path: String,
    name: String,
    service: String,
    skat_transaction_id: String,
}

/// One accepted file's progress, kept in `<user root>/.gateway/pending/<service>--<name>.json` from the
/// upload until its last status file: what a real gateway keeps across its own restarts.
#[derive(serde::Serialize, serde::Deserialize)]
struct Work {
    submission: Submission,
    answers: bool,
    /// The last status written (0: none yet).
    done: u8,
    /// Taken up again after a restart: the last status may have been published without its step being
    /// recorded (the simulator stopped in between), so each status is checked against the audit record first.
    #[serde(skip)]
    resumed: bool,
}

impl Work {
    fn record(&self) -> PathBuf {
        let s = &self.submission;
        s.root.join(storage::HIDDEN).join("pending").join(format!("{}--{}.json", s.service, s.name))
    }

    fn load(root: &Path, record: &Path) -> Option<Work> {
        let mut work: Work = serde_json::from_slice(&std::fs::read(record).ok()?).ok()?;
        work.submission.root = root.to_path_buf();
        Some(work)
    }

    async fn save(&self) {
        let record = self.record();
        let written = async {
            if let Some(parent) = record.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            let temporary = record.with_extension("json.tmp");
            tokio::fs::write(&temporary, serde_json::to_vec(self).unwrap_or_default()).await?;
            tokio::fs::rename(&temporary, &record).await
        };
        if let Err(e) = written.await {
            log::error!("simulator: cannot record the progress of {}: {e}", self.submission.name);
        }
    }

    async fn step(&mut self, done: u8) {
        self.done = done;
        self.save().await;
    }

    async fn finish(self) {
        let _ = tokio::fs::remove_file(self.record()).await;
    }
}

async fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await?;
    file.write_all(format!("{line}\n").as_bytes()).await?;
    file.sync_all().await
}

/// One line of `audit.log`: time, event, gateway, user, file name, SHA-256 of the contents.
fn audit_line(event: AuditEvent, generation: Generation, username: &str, name: &str, contents: &[u8]) -> String {
    use sha2::Digest;
    format!(
        "{}\t{}\t{}\t{username}\t{name}\t{}\n",
        unix_millis(),
        event.as_str(),
        match generation {
            Generation::New => "new",
            Generation::Legacy => "legacy",
        },
        hex::encode(sha2::Sha256::digest(contents))
    )
}

fn unix_millis() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

/// `YYYYMMDDhhmmss` in UTC.
fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", now.year(), u8::from(now.month()), now.day(), now.hour(), now.minute(), now.second())
}

/// What the server certificate must cover: the loopback names (local clients and the tests use them), the
/// listen address when it is a specific one, and every configured server name.
fn server_cert_names(config: &SimConfig) -> Result<Vec<pki::ServerName>> {
    use pki::ServerName;
    let mut names = vec![
        ServerName::Dns("localhost".into()),
        ServerName::Ip(Ipv4Addr::LOCALHOST.into()),
        ServerName::Ip(std::net::Ipv6Addr::LOCALHOST.into()),
    ];
    let listen = (!config.host.is_unspecified()).then_some(ServerName::Ip(config.host));
    for name in listen.into_iter().map(Ok).chain(config.server_names.iter().map(|n| ServerName::parse(n))) {
        let name = name?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// The host clients should connect to: the first server name, else the listen address, else (listening on
/// every address) loopback.
fn client_host(config: &SimConfig) -> String {
    match config.server_names.first() {
        Some(name) => name.trim().to_string(),
        None if config.host.is_unspecified() && config.host.is_ipv6() => "::1".into(),
        None if config.host.is_unspecified() => "127.0.0.1".into(),
        None => config.host.to_string(),
    }
}

/// The simulator's entry point.
pub struct Simulator;

/// libunftp 0.24 unwraps the result of a data connection's TLS handshake (its datachan.rs; upstream issue
/// bolcom/libunftp#375), so a client that closes a data connection mid-handshake (killed, or cut by a fault)
/// panics that connection's task, with a handshake error or the bare I/O error (`ConnectionReset`): the only
/// `Result` that file unwraps. Tokio contains the panic and the server goes on, but the default hook
/// prints it with a backtrace, which reads like a crash of the simulator. This hook turns exactly those into
/// one warning and leaves every other panic to the hook that was there before. Installed once per process.
fn quiet_libunftp_handshake_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_datachan = info.location().is_some_and(|l| l.file().contains("libunftp") && l.file().ends_with("datachan.rs"));
            let message = info.payload().downcast_ref::<String>().map(String::as_str).unwrap_or_default();
            if in_datachan && message.starts_with("called `Result::unwrap()` on an `Err` value") {
                log::warn!("simulator: a data connection closed during its TLS handshake; that transfer failed, the server goes on");
            } else {
                previous(info);
            }
        }));
    });
}

impl Simulator {
    /// Mints or loads the PKI in `config.dir`, prepares the user folders and starts both gateways. When this
    /// returns, the ports are bound and accept connections.
    pub fn start(config: SimConfig) -> Result<SimHandle> {
        if config.clients.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "the simulator needs at least one client certificate: add a ClientSpec"));
        }
        if config.data_ports.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "the passive port range is empty: give it as FIRST-LAST with FIRST <= LAST"));
        }
        if config.dir.exists() && !config.dir.is_dir() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{} is a file, not a folder: give the simulator a folder of its own (it is created if missing)", config.dir.display()),
            ));
        }
        std::fs::create_dir_all(&config.dir).map_err(|e| pki::io_error(&config.dir, e))?;
        let dir = std::fs::canonicalize(&config.dir).map_err(|e| pki::io_error(&config.dir, e))?;
        let (pki_files, ca) = pki::ensure_ca_and_server(&dir, &server_cert_names(&config)?)?;
        let mut client_files = Vec::new();
        let mut known = Vec::new();
        for (index, spec) in config.clients.iter().enumerate() {
            let folder = if index == 0 { dir.clone() } else { dir.join("clients").join(&spec.label) };
            let files = pki::ensure_client(&folder, &spec.label, &spec.kind, &ca)?;
            let cvr = files.username.get(4..12).unwrap_or_default().to_string();
            let id_folder = files.username.get(13..).unwrap_or_default().to_string();
            let roles = if spec.roles.is_empty() { SERVICES.iter().map(|s| s.to_string()).collect() } else { spec.roles.clone() };
            known.push(KnownClient {
                username: files.username.clone(),
                cvr,
                id_folder,
                roles,
                gateway_password: files.gateway_password.clone(),
                fingerprint: files.fingerprint,
                registered: spec.registered,
            });
            client_files.push(files);
        }
        for client in known.iter().filter(|c| c.registered) {
            prepare_user_folders(&dir, client)?;
        }
        let shared = Arc::new(SimShared {
            dir: dir.clone(),
            clients: known,
            delays: config.delays,
            answering_services: config.answering_services.clone(),
            backend_up: watch::channel(true).0,
            faults: Arc::new(FaultState::default()),
            tls_switches: Arc::new(TlsSwitches::default()),
            names: tokio::sync::Mutex::new(()),
            audit_lock: tokio::sync::Mutex::new(()),
            sequence: AtomicU64::new(0),
        });
        quiet_libunftp_handshake_panics();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("skat-gateway-sim")
            .on_thread_start(block_sigpipe)
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Simulator, format!("cannot start the simulator's runtime: {e}")).with_source(e))?;
        let tls = TlsFiles { cert: pki_files.server_cert.clone(), key: pki_files.server_key.clone(), ca: pki_files.ca_cert.clone() };
        let new_gateway = runtime.block_on(serve(shared.clone(), Generation::New, config.host, config.port, config.data_ports.clone(), tls.clone()))?;
        let legacy_gateway = match config.legacy_port {
            Some(port) => Some(runtime.block_on(serve(shared.clone(), Generation::Legacy, config.host, port, config.data_ports.clone(), tls))?),
            None => None,
        };
        {
            let _entered = runtime.enter();
            shared.resume_unfinished_work();
        }
        log::info!(
            "simulator: new gateway on {}, legacy gateway on {}, folder {}",
            new_gateway.public,
            legacy_gateway.as_ref().map(|g| g.public.to_string()).unwrap_or_else(|| "(off)".into()),
            dir.display()
        );
        Ok(SimHandle {
            runtime: Some(runtime),
            shared,
            new_gateway,
            legacy_gateway,
            dir,
            pki: pki_files,
            clients: client_files,
            client_host: client_host(&config),
            data_ports: config.data_ports,
        })
    }
}

/// Keeps SIGPIPE from the simulator's threads. A client that disconnects mid-download makes the next write to
/// its socket raise SIGPIPE (tokio writes with `writev`, which cannot pass `MSG_NOSIGNAL`), and in a process that
/// keeps SIGPIPE's default (a C test suite running the simulator in-process, or `skat-gateway sim`) that kills
/// the whole process. A signal a write raises goes to the writing thread; blocked there, it stays pending and
/// harmless, and the write fails with EPIPE, which the server handles as the closed connection it is.
fn block_sigpipe() {
    #[cfg(unix)]
    // SAFETY: sigemptyset/sigaddset initialise the set on our stack; pthread_sigmask only changes this thread's
    // mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn prepare_user_folders(dir: &Path, client: &KnownClient) -> Result<()> {
    let make = |path: PathBuf| std::fs::create_dir_all(&path).map_err(|e| pki::io_error(&path, e));
    let new_root = dir.join("users").join(&client.username);
    make(new_root.join("out"))?;
    make(new_root.join(storage::HIDDEN).join("incoming"))?;
    let legacy_root = dir.join("legacy").join(&client.username);
    make(legacy_root.join("out"))?;
    make(legacy_root.join(storage::HIDDEN).join("incoming"))?;
    for role in &client.roles {
        make(new_root.join(role))?;
        make(legacy_root.join(&client.id_folder).join(role))?;
    }
    let login_info = legacy_root.join(&client.id_folder).join(LOGIN_INFO_SERVICE);
    make(login_info.clone())?;
    let text = format!("Username: {}\nPassword: {}\n", client.username, client.gateway_password.expose());
    pki::write_file(&login_info.join(LOGIN_INFO_FILE), text.as_bytes(), true)
}

#[derive(Clone)]
struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

struct Running {
    public: SocketAddr,
    relay: Arc<Relay>,
}

/// Binds one gateway: the FTP server on an internal loopback port, the relay on the public one.
async fn serve(shared: Arc<SimShared>, generation: Generation, host: IpAddr, port: u16, data_ports: RangeInclusive<u16>, tls: TlsFiles) -> Result<Running> {
    let bind_error = |addr: SocketAddr, e: std::io::Error| {
        Error::new(ErrorKind::Simulator, format!("cannot listen on {addr}: {e}; choose another port or stop what uses it")).with_source(e)
    };
    let internal_addr = SocketAddr::new(host, 0);
    let internal = TcpListener::bind(internal_addr).await.map_err(|e| bind_error(internal_addr, e))?;
    let upstream = internal.local_addr().map_err(|e| bind_error(internal_addr, e))?;
    let public_addr = SocketAddr::new(host, port);
    let public = TcpListener::bind(public_addr).await.map_err(|e| bind_error(public_addr, e))?;
    let public_addr = public.local_addr().map_err(|e| bind_error(public_addr, e))?;
    // Build one server first so configuration errors surface here, not on the first connection.
    build_server(&shared, generation, &data_ports, &tls)?;
    let server_shared = shared.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = internal.accept().await else { continue };
            // libunftp leaves Nagle on. A reply written while the previous one is unacknowledged (the 226
            // after a 150) then waits for the relay's delayed ACK: 40 ms per upload on Linux.
            let _ = stream.set_nodelay(true);
            match build_server(&server_shared, generation, &data_ports, &tls) {
                Ok(server) => {
                    tokio::spawn(async move {
                        let _ = server.service(stream).await;
                    });
                }
                Err(e) => log::error!("simulator: {e}"),
            }
        }
    });
    let relay = Relay::start(public, upstream, shared.faults.clone(), shared.tls_switches.clone()).map_err(|e| bind_error(public_addr, e))?;
    Ok(Running { public: public_addr, relay })
}

type GatewayServer = libunftp::Server<storage::GatewayStorage, auth::SimUser>;

fn build_server(shared: &Arc<SimShared>, generation: Generation, data_ports: &RangeInclusive<u16>, tls: &TlsFiles) -> Result<GatewayServer> {
    let storage_shared = shared.clone();
    let greeting = match generation {
        Generation::New => "skat-gateway simulator (new gateway)",
        Generation::Legacy => "skat-gateway simulator (legacy gateway)",
    };
    ServerBuilder::<storage::GatewayStorage, auth::SimUser>::with_user_detail_provider(
        Box::new(move || storage::GatewayStorage::new(storage_shared.clone(), generation)),
        Arc::new(auth::SimUserProvider { shared: shared.clone(), generation }),
    )
    .authenticator(Arc::new(auth::GatewayAuthenticator { shared: shared.clone(), generation }))
    .greeting(greeting)
    .ftps(tls.cert.clone(), tls.key.clone())
    .ftps_client_auth(FtpsClientAuth::Require)
    .ftps_trust_store(tls.ca.clone())
    .ftps_tls_flags(TlsFlags::V1_2 | TlsFlags::RESUMPTION_SESS_ID | TlsFlags::RESUMPTION_TICKETS)
    .ftps_required(FtpsRequired::All, FtpsRequired::All)
    .passive_ports(data_ports.clone())
    .binder(PassiveBinder { faults: shared.faults.clone() })
    .idle_session_timeout(600)
    .logger(SwitchSpy::logger(shared.tls_switches.clone()))
    .build()
    .map_err(|e| Error::new(ErrorKind::Simulator, format!("cannot configure the FTP server: {e}")))
}

/// A running simulator. [`SimHandle::stop`] (or dropping it) stops everything it started.
pub struct SimHandle {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<SimShared>,
    new_gateway: Running,
    legacy_gateway: Option<Running>,
    dir: PathBuf,
    pki: pki::PkiFiles,
    clients: Vec<ClientFiles>,
    client_host: String,
    data_ports: RangeInclusive<u16>,
}

impl SimHandle {
    /// How the control ports timed the clients' TLS hellos after `AUTH TLS`: a hello waits until the FTP server
    /// has switched the connection to TLS, which it reports at once; one held for the full second instead
    /// (`after_grace`) means it did not (for diagnostics and tests).
    pub fn tls_switches(&self) -> TlsSwitchCounts {
        self.shared.tls_switches.counts()
    }

    /// The address the simulator listens on (`0.0.0.0` or `::` when it listens on every address).
    pub fn host(&self) -> IpAddr {
        self.new_gateway.public.ip()
    }

    /// The host name or address clients should connect to, which the server certificate covers: the first
    /// of [`SimConfig::server_names`], else the listen address, else loopback. `client.toml` names it.
    pub fn client_host(&self) -> &str {
        &self.client_host
    }

    /// The new gateway's control port.
    pub fn port(&self) -> u16 {
        self.new_gateway.public.port()
    }

    /// The legacy gateway's control port, if it runs.
    pub fn legacy_port(&self) -> Option<u16> {
        self.legacy_gateway.as_ref().map(|g| g.public.port())
    }

    /// The simulator folder (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate a client must trust (`DIR/ca.pem`).
    pub fn ca_file(&self) -> &Path {
        &self.pki.ca_cert
    }

    /// The main client certificate (the first [`ClientSpec`]).
    pub fn client(&self) -> &ClientFiles {
        &self.clients[0]
    }

    /// A client certificate by label.
    pub fn client_by_label(&self, label: &str) -> Option<&ClientFiles> {
        self.clients.iter().find(|c| c.label == label)
    }

    /// Every client certificate, in configuration order.
    pub fn clients(&self) -> &[ClientFiles] {
        &self.clients
    }

    /// The folder of a user's `out` on the new gateway (for tests that look behind the server).
    pub fn out_dir(&self, username: &str) -> PathBuf {
        self.shared.user_root(Generation::New, username).join("out")
    }

    /// The folder of a user's `out` on the legacy gateway.
    pub fn legacy_out_dir(&self, username: &str) -> PathBuf {
        self.shared.user_root(Generation::Legacy, username).join("out")
    }

    /// Arms a fault for the next `times` connections or transfers it applies to (`None`: until cleared).
    pub fn inject(&self, fault: Fault, times: Option<u32>) {
        self.shared.faults.arm(fault, times);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Marks the backend systems down (nothing is delivered, no status written; the legacy gateway answers new
    /// uploads with status_0 `BACKEND_SYSTEM_NOT_AVAILABLE`) or up again (the waiting files go on).
    pub fn set_backend_available(&self, available: bool) {
        self.shared.backend_up.send_replace(available);
    }

    /// Restarts both gateways: every open connection is cut, the ports refuse connections for `downtime`, then
    /// accept again. Returns once they accept again.
    pub fn restart(&self, downtime: Duration) -> Result<()> {
        let Some(runtime) = &self.runtime else { return Ok(()) };
        let relays: Vec<Arc<Relay>> =
            std::iter::once(&self.new_gateway).chain(self.legacy_gateway.as_ref()).map(|g| g.relay.clone()).collect();
        runtime.block_on(async move {
            let tasks: Vec<_> = relays.into_iter().map(|r| tokio::spawn(async move { r.restart(downtime).await })).collect();
            for task in tasks {
                match task.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        return Err(Error::new(ErrorKind::Simulator, format!("the simulator could not reopen its port after a restart: {e}")))
                    }
                    Err(e) => return Err(Error::new(ErrorKind::Simulator, format!("restart failed: {e}"))),
                }
            }
            Ok(())
        })
    }

    /// The simulator's own record, oldest first: every upload it received, every file it published in `out`,
    /// and every file a client deleted there, with the content's SHA-256 (kept in `<dir>/audit.log` across
    /// restarts). Tests compare a client's journal and inbox with it.
    pub fn audit(&self) -> Result<Vec<AuditEntry>> {
        let path = self.dir.join("audit.log");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(pki::io_error(&path, e)),
        };
        Ok(text
            .lines()
            .filter_map(|line| {
                let mut f = line.split('\t');
                Some(AuditEntry {
                    at_ms: f.next()?.parse().ok()?,
                    event: AuditEvent::parse(f.next()?)?,
                    gateway: f.next()?.to_string(),
                    username: f.next()?.to_string(),
                    name: f.next()?.to_string(),
                    sha256: f.next()?.to_string(),
                })
            })
            .collect())
    }

    /// The passive data ports.
    pub fn data_ports(&self) -> RangeInclusive<u16> {
        self.data_ports.clone()
    }

    /// Writes `DIR/client.toml`: a client profile (`sim`) for this simulator, in the format of
    /// [`crate::gateway::ConfigFile`], so `skat-gateway --config DIR/client.toml ...` talks to it.
    pub fn write_client_config(&self) -> Result<PathBuf> {
        let path = self.dir.join("client.toml");
        let host = self.client_host().to_string();
        let ports = format!("{}-{}", self.data_ports.start(), self.data_ports.end());
        let mut text = format!(
            "# Written by `skat-gateway sim`: the client side of the simulator in this folder.\n\
             # Use it with `skat-gateway --config {config} ...`.\n\
             default_profile = \"sim\"\n\n\
             [profiles.sim]\n\
             certificate = \"client.p12\"\n\
             certificate_password_file = \"client.p12.password\"\n\
             password_file = \"gateway.password\"\n\
             ca_file = \"ca.pem\"\n\
             system_roots = false\n\
             journal = \"journal.sqlite\"\n\
             inbox = \"inbox\"\n\
             default_gateway = \"new\"\n\n\
             [profiles.sim.new]\n\
             host = \"{host}\"\n\
             port = {port}\n\
             data_ports = \"{ports}\"\n",
            config = path.display(),
            port = self.port(),
        );
        if let Some(legacy) = self.legacy_port() {
            text.push_str(&format!("\n[profiles.sim.legacy]\nhost = \"{host}\"\nport = {legacy}\ndata_ports = \"{ports}\"\n"));
        }
        pki::write_file(&path, text.as_bytes(), false)?;
        Ok(path)
    }

    /// Writes `DIR/ready.json` (the host to connect to, the listen address, ports, user name, file paths): the sign for scripts that the simulator
    /// accepts connections. Written last, atomically.
    pub fn write_ready_file(&self) -> Result<PathBuf> {
        let client = self.client();
        let ready = serde_json::json!({
            "host": self.client_host(),
            "listen": self.host().to_string(),
            "port": self.port(),
            "legacy_port": self.legacy_port(),
            "data_ports": [self.data_ports.start(), self.data_ports.end()],
            "username": client.username,
            "dir": self.dir,
            "ca": self.pki.ca_cert,
            "certificate": client.p12,
            "certificate_password_file": client.p12_password_file,
            "certificate_pem": client.cert_pem,
            "key_pem": client.key_pem,
            "password_file": client.gateway_password_file,
            "config": self.dir.join("client.toml"),
            "pid": std::process::id(),
        });
        let path = self.dir.join("ready.json");
        let tmp = self.dir.join(".ready.json.tmp");
        pki::write_file(&tmp, format!("{ready:#}\n").as_bytes(), false)?;
        std::fs::rename(&tmp, &path).map_err(|e| pki::io_error(&path, e))?;
        Ok(path)
    }

    /// Blocks until the process gets SIGINT (Ctrl-C) or SIGTERM.
    pub fn wait_for_signal(&self) -> Result<()> {
        let Some(runtime) = &self.runtime else { return Ok(()) };
        runtime.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                let mut terminate = signal(SignalKind::terminate())
                    .map_err(|e| Error::new(ErrorKind::Simulator, format!("cannot watch for SIGTERM: {e}")))?;
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
            Ok(())
        })
    }

    /// Stops both gateways and closes every connection.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_told_a_name_the_certificate_covers() {
        let mut config = SimConfig::new("/nonexistent");
        config.host = "0.0.0.0".parse().unwrap();
        assert_eq!(client_host(&config), "127.0.0.1", "every address: loopback works locally");
        config.host = "::".parse().unwrap();
        assert_eq!(client_host(&config), "::1");
        config.server_names = vec![" gw.example.test ".into(), "10.1.2.3".into()];
        assert_eq!(client_host(&config), "gw.example.test");
        let names = server_cert_names(&config).unwrap();
        assert!(names.contains(&pki::ServerName::Dns("gw.example.test".into())));
        assert!(names.contains(&pki::ServerName::Ip("10.1.2.3".parse().unwrap())));
        assert!(!names.contains(&pki::ServerName::Ip("::".parse().unwrap())), "an unspecified address is no name");
        config.host = "127.0.0.2".parse().unwrap();
        config.server_names.clear();
        assert_eq!(client_host(&config), "127.0.0.2");
        assert!(server_cert_names(&config).unwrap().contains(&pki::ServerName::Ip(config.host)));
    }
}
