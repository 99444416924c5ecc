//! The gateway client: submit files exactly once, collect every receipt, ping, and fetch the migration password.
//!
//! A [`Client`] holds the identity, the journal and up to two FTPS sessions (new and legacy gateway, opened
//! when first needed and reopened after a connection failure). It is `Send` (move it to a worker thread) but
//! not `Sync`: one operation at a time; wrap it in a `Mutex` to share it. Several clients, in one process or
//! many, may share one journal file.
//!
//! # What is sent is what is recorded
//!
//! The gateway processes a file as soon as its upload completes, and nothing can take it back; integrations
//! are folder-based, so a producer may still be writing the file `submit` is given. [`Client::submit`] therefore
//! never uploads from the caller's file: it first copies it into a spool folder beside the journal
//! (`<journal>.spool/<owner>/`) while hashing, and refuses the file (nothing recorded, nothing sent) if its
//! size, modification time or identity changed during the copy, or if fewer or more bytes were read than it had.
//! The copy is synced and put under the submission's name, whose record (size, SHA-256, spool path) is
//! committed first; every upload attempt, and a resumed upload after a crash, reads the copy. The copy is
//! removed once the upload is complete (the journal never sends a finished upload again) or the submission
//! failed for good; one left by a process killed during the copy is removed after an hour.

use super::catalogue::{self, Service, TransferType, HEARTBEAT_SERVICE};
use super::config::{Config, GatewayChoice};
use super::migration;
use super::names;
use super::receipt::{self, Receipt, StatusCode};
use crate::durable::{self, Durability, PartialFile};
use crate::error::{Error, ErrorKind, Result};
use crate::ftp::{self, Session};
use crate::identity::Identity;
use crate::journal::{self, Journal, NewSubmission, ReceiptOutcome, Submission, SubmissionState};
use crate::secret::Secret;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Something a face may show: progress and milestones. Logging goes through the `log` facade as well.
#[derive(Clone, Debug, Serialize)]
pub enum Event {
    Connecting { gateway: GatewayChoice, host: String, port: u16 },
    Connected { gateway: GatewayChoice, username: String },
    /// A name was committed to the journal for a file.
    Reserved { name: String, service: String },
    /// The file is being copied into the spool folder before anything is sent: bytes copied so far.
    Snapshotting { file: String, copied: u64, total: u64 },
    /// Upload progress: bytes sent so far of `total`.
    Uploading { name: String, sent: u64, total: u64 },
    Uploaded { name: String, bytes: u64, attempts: u32 },
    /// An attempt failed with a connection problem; the upload is retried under the same name.
    Retrying { name: String, attempt: u32, error: String },
    /// Another poll of the same journal is running (another process, or another client): this one waits for it.
    WaitingForOtherPoll { lock_file: PathBuf },
    Downloaded { remote_name: String, local_path: PathBuf, bytes: u64 },
    Receipt { status_file: String, transaction_id: String, code: u8 },
    DeletedRemote { remote_name: String },
}

/// A callback for [`Event`]s.
pub type EventHandler = Box<dyn FnMut(&Event) + Send>;

/// Asked while the client waits (see [`Client::set_keep_waiting`]): false ends the wait.
pub type KeepWaiting = Box<dyn FnMut() -> bool + Send>;

/// How often a wait asks its [`KeepWaiting`] hook: short enough for Ctrl-C to feel immediate.
const WAIT_SLICE: Duration = Duration::from_millis(50);

/// How to submit.
#[derive(Clone, Debug, Default)]
pub struct SubmitOptions {
    /// Use this name instead of a generated one (checked against the gateway's rules and the journal).
    pub name: Option<String>,
    /// A readable prefix for a generated name (default: the file's own name).
    pub prefix: Option<String>,
    /// Send a file even if the same content was submitted to the same service before and did not fail (see
    /// [`Client::submit_file`]).
    pub again: bool,
    /// Send an empty file (refused by default: an empty declaration is almost always a half-written export).
    pub allow_empty: bool,
}

/// What [`Client::submit_file`] did with a file.
#[derive(Clone, Debug, Serialize)]
pub enum Submitted {
    /// The file was uploaded (or an interrupted upload of it finished) as this submission.
    Sent(Submission),
    /// The same content went to the same service before, as this submission, which has not failed: nothing
    /// was sent.
    AlreadySubmitted(Submission),
}

impl Submitted {
    pub fn submission(&self) -> &Submission {
        match self {
            Submitted::Sent(s) | Submitted::AlreadySubmitted(s) => s,
        }
    }

    pub fn into_submission(self) -> Submission {
        match self {
            Submitted::Sent(s) | Submitted::AlreadySubmitted(s) => s,
        }
    }
}

/// How to poll.
#[derive(Clone, Debug, Default)]
pub struct PollOptions {
    /// Leave every file in `out` (by default, files the journal has safely recorded are deleted there).
    pub keep_remote: bool,
    /// Also delete files in `out` that belong to no submission of this journal (by default they are kept for
    /// whichever system sent them: one certificate may serve several systems).
    pub delete_unknown: bool,
}

/// A file fetched from `out` by [`Client::poll`].
#[derive(Clone, Debug, Serialize)]
pub struct FetchedFile {
    pub gateway: GatewayChoice,
    pub remote_name: String,
    pub local_path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// False when the journal had it already (a poll interrupted before the remote delete).
    pub new: bool,
    pub deleted_remote: bool,
}

/// A status file and what it did.
#[derive(Clone, Debug, Serialize)]
pub struct ReceivedReceipt {
    pub gateway: GatewayChoice,
    pub receipt: Receipt,
    pub outcome: ReceiptOutcome,
    pub local_path: PathBuf,
}

/// What one poll found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PollReport {
    pub files: Vec<FetchedFile>,
    pub receipts: Vec<ReceivedReceipt>,
    /// Status files naming submissions this journal does not know: kept (locally and in `out`) and reported.
    pub unknown: Vec<ReceivedReceipt>,
    /// Other files (not status files) that are no response of this journal's submissions: another system
    /// sharing the certificate may be waiting for them, so they are kept in `out` (unless `delete_unknown`).
    pub unknown_files: Vec<FetchedFile>,
    /// Files named like status files that could not be understood: (remote name, local copy, why).
    pub invalid: Vec<(String, PathBuf, String)>,
    /// Submissions that passed their deadline during this poll.
    pub overdue: Vec<Submission>,
    /// Uploads that were interrupted and are held by no live upload (see [`STALE_UPLOAD_AGE`]): submit the
    /// same file again to finish them.
    pub stale: Vec<Submission>,
}

/// The answer to a heartbeat.
#[derive(Clone, Debug, Serialize)]
pub struct Ping {
    pub name: String,
    pub receipt: Receipt,
    /// From the start of the upload to the status 1 file.
    pub round_trip: Duration,
}

const TRANSIENT_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// A temporary file in the inbox not written to for this long belongs to a download whose process was killed
/// (a live one writes continuously, or gives up after its read time-out, at most minutes).
const ABANDONED_DOWNLOAD_AGE: Duration = Duration::from_secs(3600);

/// An unfinished upload whose journal record was not touched for this long is held by no live process: a live
/// upload touches its record every [`UPLOAD_TOUCH_EVERY`].
pub const STALE_UPLOAD_AGE: Duration = Duration::from_secs(60);
const UPLOAD_TOUCH_EVERY: Duration = Duration::from_secs(10);

/// The gateway client. See the module documentation for threading.
pub struct Client {
    config: Config,
    identity: Arc<Identity>,
    journal: Arc<Journal>,
    owner: String,
    new_session: Option<Session>,
    legacy_session: Option<Session>,
    /// The services each gateway showed this client, cached for the session's life.
    visible: [Option<Vec<Service>>; 2],
    /// The legacy gateway's id folder (`UID_...`) that holds its service folders, once found.
    legacy_root: Option<String>,
    events: Option<EventHandler>,
    keep_waiting: Option<KeepWaiting>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("profile", &self.config.profile).field("owner", &self.owner).finish_non_exhaustive()
    }
}

fn slot(gateway: GatewayChoice) -> usize {
    match gateway {
        GatewayChoice::New => 0,
        GatewayChoice::Legacy => 1,
    }
}

/// Connection problems after which an operation is worth repeating on a new connection.
fn is_transient(error: &Error) -> bool {
    matches!(error.kind(), ErrorKind::ConnectionLost | ErrorKind::Timeout | ErrorKind::ConnectionRefused)
        || (error.kind() == ErrorKind::UnexpectedReply && error.server_reply().is_some_and(|r| (400..500).contains(&r.code)))
}

impl Client {
    /// Loads the identity, opens the journal and logs in to the default gateway (so that a wrong certificate,
    /// password or address shows at once).
    pub fn connect(config: Config) -> Result<Client> {
        let mut client = Client::offline(config)?;
        let gateway = client.config.default_gateway;
        client.session(gateway)?;
        Ok(client)
    }

    /// As [`Client::connect`], but without logging in: the first operation that needs a gateway connects.
    pub fn offline(config: Config) -> Result<Client> {
        let identity = Arc::new(config.load_identity()?);
        let owner = match &config.username {
            Some(name) => name.clone(),
            None => identity.username().map_err(|e| {
                e.context("cannot derive the gateway user name from the certificate; set `username` in the profile")
            })?,
        };
        let journal = Arc::new(Journal::open(&config.journal)?);
        Ok(Client {
            config,
            identity,
            journal,
            owner,
            new_session: None,
            legacy_session: None,
            visible: [None, None],
            legacy_root: None,
            events: None,
            keep_waiting: None,
        })
    }

    /// Receives progress and milestone events (replaces an earlier handler).
    pub fn set_event_handler(&mut self, handler: impl FnMut(&Event) + Send + 'static) {
        self.events = Some(Box::new(handler));
    }

    /// Asked about every 50 ms while the client only waits: between the polls of
    /// [`Client::poll_until_settled`] and while [`Client::ping`] waits for its status. Returning false ends
    /// the wait at once, as if its time were up (a face's Ctrl-C or cancel button); work under way (a
    /// transfer, a journal update) is never cut off by it, so nothing recorded is left half done.
    pub fn set_keep_waiting(&mut self, keep_waiting: impl FnMut() -> bool + Send + 'static) {
        self.keep_waiting = Some(Box::new(keep_waiting));
    }

    /// Sleeps for `duration` in short slices, asking the keep-waiting hook before each; false when it said stop.
    fn wait(&mut self, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        loop {
            if let Some(keep_waiting) = self.keep_waiting.as_mut() {
                if !keep_waiting() {
                    return false;
                }
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(WAIT_SLICE));
        }
    }

    /// The gateway user name this client acts as (the journal's owner of its names).
    pub fn username(&self) -> &str {
        &self.owner
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    fn emit(&mut self, event: Event) {
        if let Some(handler) = self.events.as_mut() {
            handler(&event);
        }
    }

    fn session(&mut self, gateway: GatewayChoice) -> Result<&mut Session> {
        let open = match gateway {
            GatewayChoice::New => self.new_session.is_some(),
            GatewayChoice::Legacy => self.legacy_session.is_some(),
        };
        if !open {
            // Without a `username` in the profile the session derives the same name as `owner` from the
            // certificate, and a refused login then says it was derived, not given.
            let config = self.config.session_config(gateway, self.identity.clone())?;
            let address = self.config.address(gateway).clone();
            self.emit(Event::Connecting { gateway, host: address.host.clone(), port: address.port });
            let session = Session::connect(&config)?;
            self.emit(Event::Connected { gateway, username: session.username().to_string() });
            match gateway {
                GatewayChoice::New => self.new_session = Some(session),
                GatewayChoice::Legacy => self.legacy_session = Some(session),
            }
        }
        let session = match gateway {
            GatewayChoice::New => self.new_session.as_mut(),
            GatewayChoice::Legacy => self.legacy_session.as_mut(),
        };
        session.ok_or_else(|| Error::new(ErrorKind::Internal, "a session just opened is missing"))
    }

    /// Forgets a broken session; the next operation reconnects.
    fn drop_session(&mut self, gateway: GatewayChoice) {
        match gateway {
            GatewayChoice::New => self.new_session = None,
            GatewayChoice::Legacy => self.legacy_session = None,
        }
    }

    /// Logs out of both gateways.
    pub fn close(mut self) -> Result<()> {
        let mut result = Ok(());
        for session in [self.new_session.take(), self.legacy_session.take()].into_iter().flatten() {
            if let Err(e) = session.quit() {
                result = Err(e);
            }
        }
        result
    }

    /// Runs `op` on the gateway's session, reconnecting once when the connection turned out to be broken.
    fn with_session<T>(&mut self, gateway: GatewayChoice, mut op: impl FnMut(&mut Session) -> Result<T>) -> Result<T> {
        match op(self.session(gateway)?) {
            Err(e) if is_transient(&e) => {
                log::info!("{e}; reconnecting to the {} gateway", gateway.as_str());
                self.drop_session(gateway);
                std::thread::sleep(TRANSIENT_RETRY_PAUSE);
                op(self.session(gateway)?)
            }
            other => other,
        }
    }

    /// The folder that holds the service folders: the root on the new gateway, the `UID_...` folder on the
    /// legacy one.
    fn services_folder(&mut self, gateway: GatewayChoice) -> Result<Option<String>> {
        if gateway == GatewayChoice::New {
            return Ok(None);
        }
        if self.legacy_root.is_none() {
            let entries = self.with_session(gateway, |s| s.list(None))?;
            let expected = migration::id_folder(&self.owner);
            let found = entries
                .iter()
                .filter(|e| e.is_dir)
                .map(|e| e.name.clone())
                .find(|n| Some(n.as_str()) == expected.as_deref())
                .or_else(|| {
                    entries.iter().filter(|e| e.is_dir).map(|e| e.name.clone()).find(|n| {
                        ["UID_", "RID_", "FID_", "UI_"].iter().any(|p| n.starts_with(p))
                    })
                });
            self.legacy_root = Some(found.unwrap_or_default());
        }
        Ok(self.legacy_root.clone().filter(|r| !r.is_empty()))
    }

    /// The services this certificate sees on a gateway (its folders), cached per session.
    pub fn services_on(&mut self, gateway: GatewayChoice) -> Result<Vec<Service>> {
        if let Some(list) = &self.visible[slot(gateway)] {
            return Ok(list.clone());
        }
        let folder = self.services_folder(gateway)?;
        let entries = self.with_session(gateway, |s| s.list(folder.as_deref()))?;
        let services: Vec<Service> = catalogue::services_from_folders(
            entries.iter().filter(|e| e.is_dir).map(|e| e.name.as_str()),
        )
        .into_iter()
        .filter(|s| s.name != migration::LOGIN_INFO_SERVICE)
        .collect();
        self.visible[slot(gateway)] = Some(services.clone());
        Ok(services)
    }

    /// The services this certificate may use on the default gateway.
    pub fn services(&mut self) -> Result<Vec<Service>> {
        let gateway = self.config.default_gateway;
        self.services_on(gateway)
    }

    fn check_service(&mut self, service: &Service, gateway: GatewayChoice) -> Result<()> {
        let visible = self.services_on(gateway)?;
        if visible.iter().any(|s| s.name == service.name) {
            return Ok(());
        }
        let usable: Vec<&str> = visible.iter().map(|s| s.name.as_str()).collect();
        Err(Error::new(
            ErrorKind::ServiceNotAvailable,
            format!(
                "the certificate of {} may not use the service {} on the {} gateway ({}), so nothing was sent. \
                 Services it may use: {}. Ask the agency for the role, or check the service name",
                self.owner,
                service.name,
                gateway.as_str(),
                self.config.address(gateway).host,
                if usable.is_empty() { "none".to_string() } else { usable.join(", ") }
            ),
        ))
    }

    /// Submits a file: snapshots it into the spool folder (refusing a file that changes while it is read),
    /// reserves a unique name in the journal, uploads the snapshot (retrying under the same name after
    /// connection failures) and returns the submission in state `Uploaded`. The spool copy is removed once
    /// the upload is complete.
    ///
    /// Submitting the same file to the same service again after an interrupted upload (a crash, a kill, a
    /// network failure that outlasted the retries) resumes that submission under its name.
    ///
    /// A file whose content was submitted to the same service before is not sent again; this returns the
    /// earlier submission instead (see [`Client::submit_file`], which tells the two apart).
    pub fn submit(&mut self, service: &str, file: &Path, options: &SubmitOptions) -> Result<Submission> {
        self.submit_file(service, file, options).map(Submitted::into_submission)
    }

    /// As [`Client::submit`], saying whether the file was sent. The rule for "already submitted", which makes
    /// re-running the same command after a crash safe: a submission of this certificate to the same service
    /// with the same SHA-256 whose upload completed and which has not failed (status 0 or a refused upload)
    /// means the gateway has this content; unless `options.again`, nothing is sent. Failed (rejected)
    /// submissions may be sent again as they are. An unfinished upload of the same content is resumed instead.
    pub fn submit_file(&mut self, service: &str, file: &Path, options: &SubmitOptions) -> Result<Submitted> {
        let service = Service::named(service)?;
        if let Some(name) = &options.name {
            names::validate(name)?;
        }
        let local = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let spool = self.spool_folder()?;
        let removed = durable::remove_abandoned_partials(&spool, ABANDONED_DOWNLOAD_AGE);
        if removed > 0 {
            log::info!("removed {removed} snapshot(s) left by killed submits from {}", spool.display());
        }
        let snapshot = self.snapshot(file, &spool)?;
        let (size, sha256) = (snapshot.size, snapshot.sha256.clone());
        if size == 0 && !options.allow_empty {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "{} is empty, which for a declaration almost always means a half-written export; nothing was sent. \
                     Submit it once it is complete, or give --allow-empty (SubmitOptions::allow_empty) if empty is meant",
                    file.display()
                ),
            ));
        }
        if !options.again {
            if let Some(earlier) = self.journal.completed_uploads(&self.owner, &service.name, &sha256)?.pop() {
                log::info!("{}: already submitted as {}, state {}; not sent again", file.display(), earlier.name, earlier.state);
                // Dropping the snapshot removes it.
                return Ok(Submitted::AlreadySubmitted(earlier));
            }
        }
        let payload = Payload::Snapshot(snapshot.file, spool);
        self.submit_from(service, Some(local), size, sha256, options, payload, file.file_name().map(Path::new)).map(Submitted::Sent)
    }

    /// Submits bytes held in memory (e.g. a generated declaration) under a generated or given name.
    pub fn submit_bytes(&mut self, service: &str, bytes: &[u8], extension: &str, options: &SubmitOptions) -> Result<Submission> {
        let service = Service::named(service)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let hint = PathBuf::from(format!("{}.{}", options.prefix.as_deref().unwrap_or("sub"), extension.trim_start_matches('.')));
        self.submit_from(service, None, bytes.len() as u64, sha256, options, Payload::Memory(bytes.to_vec()), Some(&hint))
    }

    /// The folder beside the journal that holds the snapshots of files being submitted, one per owner (one
    /// journal may serve several certificates, whose names may coincide).
    fn spool_folder(&self) -> Result<PathBuf> {
        let journal = self.journal.path();
        let file_name = journal.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "journal".into());
        let owner: String =
            self.owner.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        let folder = journal.with_file_name(format!("{file_name}.spool")).join(owner);
        std::fs::create_dir_all(&folder).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot create the spool folder {}: {e}; it lives beside the journal, which must be writable", folder.display()),
            )
            .with_source(e)
        })?;
        Ok(folder)
    }

    /// Copies `file` into a temporary file in `spool` while hashing it, and checks that the source did not
    /// change meanwhile (same file, size and modification time before and after, and exactly that many bytes
    /// read). The copy is synced to disk, so that what the journal will record is what a resumed upload sends.
    fn snapshot(&mut self, file: &Path, spool: &Path) -> Result<Snapshot> {
        let unreadable = |e: std::io::Error| {
            Error::new(ErrorKind::Io, format!("cannot read {}: {e}; check the path and permissions", file.display())).with_source(e)
        };
        let before = std::fs::metadata(file).map_err(unreadable)?;
        if !before.is_file() {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("{} is not a regular file; give the file to submit", file.display())));
        }
        let mut source = File::open(file).map_err(unreadable)?;
        let opened = source.metadata().map_err(unreadable)?;
        let target_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
        let mut copy = PartialFile::beside(&spool.join(target_name))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        let name = file.display().to_string();
        loop {
            let n = source.read(&mut buffer).map_err(unreadable)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            copy.write_all(&buffer[..n]).map_err(|e| io_error(spool, e))?;
            size += n as u64;
            self.emit(Event::Snapshotting { file: name.clone(), copied: size, total: before.len() });
        }
        let after_open = source.metadata().map_err(unreadable)?;
        let after_path = std::fs::metadata(file).map_err(unreadable)?;
        if !same_version(&before, &opened) || !same_version(&before, &after_open) || !same_version(&before, &after_path) || size != before.len() {
            // Dropping `copy` removes the temporary file: nothing was recorded and nothing sent.
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{name} changed while it was being read (size {} before, {} bytes read, {} now); nothing was sent. \
                     Submit it once whoever writes it has finished",
                    before.len(),
                    size,
                    after_path.len()
                ),
            ));
        }
        Ok(Snapshot { file: copy, size, sha256: hex::encode(hasher.finalize()) })
    }

    #[allow(clippy::too_many_arguments)]
    fn submit_from(
        &mut self,
        service: Service,
        local_path: Option<PathBuf>,
        size: u64,
        sha256: String,
        options: &SubmitOptions,
        payload: Payload,
        name_hint: Option<&Path>,
    ) -> Result<Submission> {
        let gateway = self.config.route(&service.name);
        let mut resumed = None;
        if let Some(name) = &options.name {
            names::validate(name)?;
            // The same name, service and content as an upload that never finished: the same command run again
            // after a kill. Resume it; refusing would push the user to a new name, a duplicate if it landed.
            let unfinished = self.journal.submission(&self.owner, name).ok().filter(|s| {
                s.service == service.name && s.sha256.as_deref() == Some(sha256.as_str()) && s.state.is_unfinished_upload()
                    && s.failed_at.is_none()
            });
            if unfinished.is_some() {
                resumed = unfinished;
            } else if self.journal.name_used(&self.owner, name)? {
                return Err(Error::new(
                    ErrorKind::FilenameReused,
                    format!(
                        "the filename {name} was used before by {} (journal {}); the gateway accepts a name once: \
                         choose another name or leave --name out to get a unique one",
                        self.owner,
                        self.journal.path().display()
                    ),
                ));
            }
        }
        self.check_service(&service, gateway)?;

        if resumed.is_none() && options.name.is_none() {
            resumed = self.journal.unfinished_uploads(&self.owner, &service.name, &sha256)?.into_iter().next();
        }
        let spool_path = |name: &str| match &payload {
            Payload::Snapshot(_, folder) => Some(folder.join(name)),
            Payload::Memory(_) => None,
        };
        let submission = match resumed {
            Some(s) => {
                log::warn!(
                    "{}: an earlier upload of this file to {} as {} did not finish; retrying it under the same name",
                    local_path.as_deref().map(|p| p.display().to_string()).unwrap_or_default(),
                    service.name,
                    s.name
                );
                let wanted = spool_path(&s.name);
                if s.spool_path != wanted {
                    self.journal.set_spool_path(&self.owner, &s.name, wanted.as_deref())?
                } else {
                    s
                }
            }
            None => {
                let mut new = NewSubmission {
                    owner: self.owner.clone(),
                    name: String::new(),
                    service: service.name.clone(),
                    gateway: gateway.as_str().to_string(),
                    local_path: local_path.clone(),
                    size: Some(size),
                    sha256: Some(sha256.clone()),
                    spool_path: None,
                };
                let mut tries = 0;
                loop {
                    new.name = match &options.name {
                        Some(n) => n.clone(),
                        None => names::generate(options.prefix.as_deref(), name_hint),
                    };
                    new.spool_path = spool_path(&new.name);
                    match self.journal.create_submission(&new) {
                        Ok(s) => break s,
                        // A generated name clashed (practically never): draw another.
                        Err(e) if e.kind() == ErrorKind::FilenameReused && options.name.is_none() && tries < 5 => tries += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
        };
        let name = submission.name.clone();
        // The snapshot takes its place under the submission's name (replacing, on a resumed upload, the copy
        // an earlier run left: the content is the same, the hash says so). Its path is in the journal already.
        let source = match payload {
            Payload::Snapshot(copy, _) => {
                let path = submission.spool_path.clone().ok_or_else(|| Error::new(ErrorKind::Internal, "a snapshot without a spool path"))?;
                copy.persist(&path, Durability::Synced)?;
                Source::Spool(path)
            }
            Payload::Memory(bytes) => Source::Memory(bytes),
        };
        self.emit(Event::Reserved { name: name.clone(), service: service.name.clone() });
        let result = self.upload(gateway, &service, &name, size, &source);
        if let Source::Spool(path) = &source {
            // Once the gateway has the whole file (or the submission failed for good) the copy serves nothing:
            // a finished upload is never sent again. After a connection failure it stays for the next attempt.
            let done = result.as_ref().map_or_else(|_| self.journal.submission(&self.owner, &name).map(|s| s.failed_at.is_some()), |_| Ok(true))?;
            if done {
                self.remove_spool_copy(&name, path)?;
            }
        }
        result.and_then(|_| self.journal.submission(&self.owner, &name))
    }

    fn remove_spool_copy(&mut self, name: &str, path: &Path) -> Result<()> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("cannot remove the spool copy {}: {e}", path.display()),
        }
        self.journal.set_spool_path(&self.owner, name, None)?;
        Ok(())
    }

    fn upload(
        &mut self,
        gateway: GatewayChoice,
        service: &Service,
        name: &str,
        size: u64,
        source: &Source,
    ) -> Result<Submission> {
        let folder = self.services_folder(gateway)?;
        let remote = match folder {
            Some(root) => format!("{root}/{}/{name}", service.name),
            None => format!("{}/{name}", service.name),
        };
        let transfer = match service.transfer_type {
            TransferType::Binary => ftp::TransferType::Binary,
            TransferType::Ascii => ftp::TransferType::Ascii,
        };
        let attempts = self.config.upload_attempts.max(1);
        let mut last_error = None;
        for attempt in 1..=attempts {
            let s = self.journal.start_upload(&self.owner, name)?;
            let mut reader = source.open()?;
            let mut events = self.events.take();
            let (journal, owner) = (self.journal.clone(), self.owner.clone());
            let mut touched = Instant::now();
            let mut report = |sent: u64| {
                // Shows `poll` that this upload is alive (see STALE_UPLOAD_AGE).
                if touched.elapsed() >= UPLOAD_TOUCH_EVERY {
                    touched = Instant::now();
                    if let Err(e) = journal.touch(&owner, name) {
                        log::warn!("{e}");
                    }
                }
                if let Some(handler) = events.as_mut() {
                    handler(&Event::Uploading { name: name.to_string(), sent, total: size });
                }
            };
            let result = self.session(gateway).and_then(|session| session.put(&mut reader, &remote, transfer, Some(&mut report)));
            self.events = events;
            match result {
                Ok(bytes) => {
                    let s = self.journal.finish_upload(&self.owner, name, self.config.deadline)?;
                    log::info!("uploaded {name} to {} ({bytes} bytes, attempt {})", service.name, s.attempts);
                    self.emit(Event::Uploaded { name: name.to_string(), bytes, attempts: s.attempts });
                    return Ok(s);
                }
                Err(e) if is_transient(&e) => {
                    log::warn!("upload of {name} (attempt {attempt}) failed: {e}; retrying under the same name");
                    self.emit(Event::Retrying { name: name.to_string(), attempt: s.attempts, error: e.to_string() });
                    self.drop_session(gateway);
                    last_error = Some(e);
                    if attempt < attempts {
                        std::thread::sleep(TRANSIENT_RETRY_PAUSE * attempt);
                    }
                }
                Err(e) => {
                    // Refused for good (permission, local read error, ...): record why.
                    let code = format!("{:?}", e.kind());
                    self.journal.fail(&self.owner, name, &code, e.message())?;
                    return Err(e.context(format!("submission {name} failed")));
                }
            }
        }
        let e = last_error.unwrap_or_else(|| Error::new(ErrorKind::Internal, "no upload attempt was made"));
        Err(Error::new(
            e.kind(),
            format!(
                "the upload of {name} to {} failed {attempts} times ({e}); it stays recorded as {name} in the journal: \
                 submit the same file again to retry under the same name",
                service.name
            ),
        ))
    }

    /// Fetches everything new from `out` into `inbox`, records it, applies status files to their submissions
    /// and only then deletes the files remotely (unless kept). Marks submissions past their deadline Overdue.
    ///
    /// Polls of one journal run one at a time (see [`Journal::lock_polls`]): a second one waits for the first.
    pub fn poll(&mut self, inbox: &Path, options: &PollOptions) -> Result<PollReport> {
        let _lock = self.lock_polls()?;
        let mut report = PollReport::default();
        for gateway in self.gateways_to_poll()? {
            self.poll_gateway(gateway, inbox, options, &|_| true, &mut report)?;
        }
        report.overdue = self.journal.mark_overdue(&self.owner, journal::now_ms())?;
        for s in &report.overdue {
            log::warn!("{} ({}) is overdue: no status 2 (accepted) before its deadline", s.name, s.service);
        }
        report.stale = self.stale_uploads()?;
        Ok(report)
    }

    /// Polls every `interval` until no submission of this certificate waits for a status (everything
    /// Responded or Failed; heartbeats are done at status 1) or `wait` has passed (or the keep-waiting hook,
    /// [`Client::set_keep_waiting`], said to stop).
    pub fn poll_until_settled(&mut self, inbox: &Path, options: &PollOptions, wait: Duration, interval: Duration) -> Result<PollReport> {
        let deadline = Instant::now() + wait;
        let mut total = PollReport::default();
        loop {
            let report = self.poll(inbox, options)?;
            total.files.extend(report.files);
            total.receipts.extend(report.receipts);
            total.unknown.extend(report.unknown);
            total.unknown_files.extend(report.unknown_files);
            total.invalid.extend(report.invalid);
            total.overdue.extend(report.overdue);
            total.stale = report.stale;
            if self.pending()?.is_empty() || Instant::now() >= deadline {
                return Ok(total);
            }
            if !self.wait(interval.min(deadline.saturating_duration_since(Instant::now()))) {
                return Ok(total);
            }
        }
    }

    /// Closes this certificate's submission `name`, which waits for a status that will not come (see
    /// [`Journal::close`]).
    pub fn close_submission(&self, name: &str, reason: Option<&str>) -> Result<Submission> {
        self.journal.close(&self.owner, name, reason)
    }

    /// Submissions of this certificate whose upload was interrupted and that no live upload holds: their record
    /// is unfinished and untouched for [`STALE_UPLOAD_AGE`]. Submitting the same file again finishes them.
    pub fn stale_uploads(&self) -> Result<Vec<Submission>> {
        let cutoff = journal::now_ms() - STALE_UPLOAD_AGE.as_millis() as i64;
        Ok(self
            .journal
            .submissions(Some(&self.owner))?
            .into_iter()
            .filter(|s| s.state.is_unfinished_upload() && s.failed_at.is_none() && s.updated_at < cutoff)
            .collect())
    }

    /// Submissions of this certificate still waiting for a status.
    pub fn pending(&self) -> Result<Vec<Submission>> {
        Ok(self
            .journal
            .submissions(Some(&self.owner))?
            .into_iter()
            .filter(|s| match s.state {
                SubmissionState::Uploaded | SubmissionState::Accepted | SubmissionState::Overdue => true,
                SubmissionState::Delivered => s.service != HEARTBEAT_SERVICE,
                _ => false,
            })
            .collect())
    }

    fn lock_polls(&mut self) -> Result<journal::PollLock> {
        let journal = self.journal.clone();
        let mut waiting_on = None;
        let lock = journal.lock_polls(|path| {
            log::warn!("another poll of the journal {} is running; waiting for it to finish", journal.path().display());
            waiting_on = Some(path.to_path_buf());
        });
        // The event goes out after the wait: the handler needs `self`, which the closure cannot borrow.
        if let Some(lock_file) = waiting_on {
            self.emit(Event::WaitingForOtherPoll { lock_file });
        }
        lock
    }

    fn gateways_to_poll(&self) -> Result<Vec<GatewayChoice>> {
        let mut gateways = BTreeSet::new();
        gateways.insert(slot(self.config.default_gateway));
        for (_, g) in &self.config.routes {
            gateways.insert(slot(*g));
        }
        for s in self.journal.submissions(Some(&self.owner))? {
            if !s.state.is_final() && s.gateway == GatewayChoice::Legacy.as_str() {
                gateways.insert(slot(GatewayChoice::Legacy));
            }
        }
        Ok(gateways.into_iter().map(|i| if i == 0 { GatewayChoice::New } else { GatewayChoice::Legacy }).collect())
    }

    fn poll_gateway(
        &mut self,
        gateway: GatewayChoice,
        inbox: &Path,
        options: &PollOptions,
        wanted: &dyn Fn(&str) -> bool,
        report: &mut PollReport,
    ) -> Result<()> {
        std::fs::create_dir_all(inbox).map_err(|e| {
            Error::new(ErrorKind::Io, format!("cannot create the inbox {}: {e}; check the path and permissions", inbox.display()))
                .with_source(e)
        })?;
        let removed = durable::remove_abandoned_partials(inbox, ABANDONED_DOWNLOAD_AGE);
        if removed > 0 {
            log::info!("removed {removed} temporary file(s) of downloads killed earlier from {}", inbox.display());
        }
        let entries = self.with_session(gateway, |s| s.list(Some("out")))?;
        let mut files: Vec<_> = entries.into_iter().filter(|e| !e.is_dir && wanted(&e.name)).collect();
        // Status files first, so that the response files they name are known before those are looked at.
        files.sort_by_key(|e| (!receipt::is_status_file_name(&e.name), e.name.clone()));

        let mut deletable = Vec::new();
        for entry in files {
            let fetched = match self.fetch(gateway, &entry.name, entry.size, inbox) {
                Ok(fetched) => fetched,
                // Gone between the listing and the download: another system sharing the certificate took it.
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    log::info!("{} left out before it could be fetched (another system took it): {e}", entry.name);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let download_id = self.journal.download(&self.owner, gateway.as_str(), &entry.name)?.map(|d| d.id);
            let mut delete = false;
            if receipt::is_status_file_name(&entry.name) {
                // A status file seen before is taken from the journal: its local copy may have been moved away.
                let recorded = match fetched.new {
                    true => None,
                    false => self.journal.recorded_receipt(&self.owner, &entry.name)?,
                };
                let parsed = match recorded {
                    Some(r) => Ok(r),
                    None => {
                        let content = std::fs::read(&fetched.local_path).map_err(|e| {
                            Error::new(ErrorKind::Io, format!("cannot read back {}: {e}", fetched.local_path.display()))
                                .with_source(e)
                        })?;
                        Receipt::parse(&entry.name, &content)
                    }
                };
                match parsed {
                    Ok(parsed) => {
                        let outcome = self.journal.apply_receipt(&self.owner, &parsed, download_id)?;
                        self.emit(Event::Receipt {
                            status_file: parsed.status_file.clone(),
                            transaction_id: parsed.transaction_id.clone(),
                            code: parsed.code.as_digit(),
                        });
                        let known = match &outcome {
                            ReceiptOutcome::UnknownName => false,
                            ReceiptOutcome::AlreadyRecorded => self.journal.submission(&self.owner, &parsed.transaction_id).is_ok(),
                            _ => true,
                        };
                        let received = ReceivedReceipt { gateway, receipt: parsed, outcome, local_path: fetched.local_path.clone() };
                        if known {
                            delete = true;
                            report.receipts.push(received);
                        } else {
                            log::warn!(
                                "{}: a status file for {}, which this journal never submitted; kept in out and in {}",
                                entry.name,
                                received.receipt.transaction_id,
                                received.local_path.display()
                            );
                            delete = options.delete_unknown;
                            report.unknown.push(received);
                        }
                    }
                    Err(e) => {
                        log::warn!("{e}");
                        if let Some(received) = self.unreadable_status_0(gateway, &entry.name, &fetched.local_path, &e, download_id)? {
                            delete = true;
                            report.receipts.push(received);
                        }
                        report.invalid.push((entry.name.clone(), fetched.local_path.clone(), e.message().to_string()));
                    }
                }
            } else if self.is_linked_response(&entry.name)? {
                delete = true;
            } else {
                log::warn!(
                    "{}: no status file of this journal names it as a response (another system may share the \
                     certificate); copied to {}, {}",
                    entry.name,
                    fetched.local_path.display(),
                    if options.delete_unknown { "deleted in out (--delete-unknown)" } else { "left in out" }
                );
                delete = options.delete_unknown;
                report.unknown_files.push(fetched.clone());
            }
            if delete && !options.keep_remote {
                deletable.push((entry.name.clone(), download_id));
            }
            report.files.push(fetched);
        }
        for (name, download_id) in deletable {
            match self.with_session(gateway, |s| s.delete(&format!("out/{name}"))) {
                Ok(()) => {}
                // Someone else deleted it after we fetched it: gone either way, and our copy is safe.
                Err(e) if e.kind() == ErrorKind::NotFound => log::info!("{name} was already gone from out: {e}"),
                Err(e) => return Err(e),
            }
            if let Some(id) = download_id {
                self.journal.mark_deleted_remote(id)?;
            }
            if let Some(f) = report.files.iter_mut().find(|f| f.remote_name == name && f.gateway == gateway) {
                f.deleted_remote = true;
            }
            self.emit(Event::DeletedRemote { remote_name: name });
        }
        Ok(())
    }

    /// A status 0 file whose content cannot be read still says, by its name `status_<service>_<name>_0.xml`,
    /// that the gateway refused `name`: when that is one of this journal's submissions, it fails (with the
    /// reason and where the file is kept) instead of waiting for a status that will never come.
    fn unreadable_status_0(
        &mut self,
        gateway: GatewayChoice,
        status_file: &str,
        local_path: &Path,
        error: &Error,
        download_id: Option<i64>,
    ) -> Result<Option<ReceivedReceipt>> {
        let Some((middle, StatusCode::Error)) = receipt::status_name_parts(status_file) else { return Ok(None) };
        let submission = self
            .journal
            .submissions(Some(&self.owner))?
            .into_iter()
            .find(|s| middle.strip_prefix(s.service.as_str()).and_then(|rest| rest.strip_prefix('_')) == Some(s.name.as_str()));
        let Some(submission) = submission else { return Ok(None) };
        let parsed = Receipt {
            status_file: status_file.to_string(),
            service: submission.service.clone(),
            transaction_id: submission.name.clone(),
            code: StatusCode::Error,
            skat_transaction_id: None,
            timestamp: None,
            status_text: None,
            remote_path: None,
            response_files: Vec::new(),
            errors: vec![receipt::ReceiptError {
                code: Some("UNREADABLE_STATUS_FILE".into()),
                message: Some(format!("the gateway sent status 0 for {}, in a file that cannot be read: {}", submission.name, error.message())),
                resolution: Some(format!(
                    "the file is kept in {}: read it, and ask the agency what it means before sending the declaration again                      under a new name",
                    local_path.display()
                )),
            }],
        };
        let outcome = self.journal.apply_receipt(&self.owner, &parsed, download_id)?;
        self.emit(Event::Receipt { status_file: status_file.to_string(), transaction_id: submission.name.clone(), code: 0 });
        Ok(Some(ReceivedReceipt { gateway, receipt: parsed, outcome, local_path: local_path.to_path_buf() }))
    }

    fn is_linked_response(&self, remote_name: &str) -> Result<bool> {
        Ok(self
            .journal
            .submissions(Some(&self.owner))?
            .iter()
            .any(|s| s.response_files.iter().any(|r| r == remote_name)))
    }

    /// True when a file recorded as fetched needs no new download: its local copy is there, or it is not a
    /// status file, or its receipt is in the journal. Only a status file whose receipt was never recorded (a
    /// poll cut off between download and record) and whose copy is gone has to be read again.
    fn still_usable(&self, known: &journal::Download) -> Result<bool> {
        Ok(known.local_path.exists()
            || !receipt::is_status_file_name(&known.remote_name)
            || self.journal.recorded_receipt(&self.owner, &known.remote_name)?.is_some())
    }

    /// Brings one file of `out` safely into the inbox: unless the journal already has it (see the rules in
    /// the body), download to a temporary file, fsync, link it into place under a free name, fsync the
    /// folder, then record it.
    fn fetch(&mut self, gateway: GatewayChoice, remote_name: &str, listed_size: Option<u64>, inbox: &Path) -> Result<FetchedFile> {
        if remote_name.contains(['/', '\\']) || remote_name == "." || remote_name == ".." || remote_name.is_empty() {
            return Err(Error::new(
                ErrorKind::UnexpectedReply,
                format!("the gateway listed the odd name {remote_name:?} in out; not fetching it"),
            ));
        }
        // The journal decides, not the inbox: the downstream system moves files out of the inbox, and a file
        // the journal holds must not come back because its local copy is gone.
        let known = self.journal.download(&self.owner, gateway.as_str(), remote_name)?;
        if let Some(known) = &known {
            // Still in `out` since we fetched it (kept, or a poll was cut off before its delete): the same file,
            // unless its size changed. A file we deleted that shows up again is a new file under an old name.
            let same_size = listed_size.is_none_or(|s| s == known.size);
            if known.deleted_remote_at.is_none() && same_size && self.still_usable(known)? {
                log::debug!("{remote_name} was fetched before (to {})", known.local_path.display());
                return Ok(FetchedFile {
                    gateway,
                    remote_name: remote_name.to_string(),
                    local_path: known.local_path.clone(),
                    size: known.size,
                    sha256: known.sha256.clone(),
                    new: false,
                    deleted_remote: false,
                });
            }
        }
        let remote = format!("out/{remote_name}");
        // Each attempt (a dropped connection is retried once) writes a fresh file; a failed one is removed.
        let (partial, bytes, sha256) = self.with_session(gateway, |session| {
            let partial = PartialFile::beside(&inbox.join(remote_name))?;
            let mut hashing = HashingWriter { inner: BufWriter::with_capacity(64 * 1024, partial), hasher: Sha256::new() };
            let bytes = session.get(&remote, &mut hashing, ftp::TransferType::Binary, None)?;
            let HashingWriter { inner, hasher } = hashing;
            let partial = inner.into_inner().map_err(|e| io_error(inbox, e.into_error()))?;
            Ok((partial, bytes, hex::encode(hasher.finalize())))
        })?;
        let same_content = match known {
            Some(k) if k.sha256 == sha256 && self.still_usable(&k)? => Some(k),
            _ => None,
        };
        if let Some(known) = same_content {
            // The content fetched before, again (a remote delete that did not take, or a poll that found the
            // file changed in size only while it was being written): not a new file, so not a second copy.
            drop(partial);
            log::info!("{remote_name} is again the file fetched before to {}; not placed again", known.local_path.display());
            self.journal.record_download(&self.owner, gateway.as_str(), remote_name, bytes, &sha256, &known.local_path)?;
            return Ok(FetchedFile {
                gateway,
                remote_name: remote_name.to_string(),
                local_path: known.local_path,
                size: bytes,
                sha256,
                new: false,
                deleted_remote: false,
            });
        }
        let local_path = place_in_inbox(partial, inbox, remote_name, &sha256)?;
        self.journal.record_download(&self.owner, gateway.as_str(), remote_name, bytes, &sha256, &local_path)?;
        self.emit(Event::Downloaded { remote_name: remote_name.to_string(), local_path: local_path.clone(), bytes });
        Ok(FetchedFile { gateway, remote_name: remote_name.to_string(), local_path, size: bytes, sha256, new: true, deleted_remote: false })
    }

    /// Sends a heartbeat to `FTPSGW.Heartbeat` and waits (up to `timeout`) for its status 1.
    pub fn ping(&mut self, inbox: &Path, timeout: Duration) -> Result<Ping> {
        let started = Instant::now();
        let stamp = journal::format_ms(journal::now_ms());
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<heartbeat><sent>{stamp}</sent><client>skat-gateway {}</client></heartbeat>\n",
            env!("CARGO_PKG_VERSION")
        );
        let options = SubmitOptions { prefix: Some("ping".into()), ..SubmitOptions::default() };
        let submission = self.submit_bytes(HEARTBEAT_SERVICE, body.as_bytes(), "xml", &options)?;
        let name = submission.name.clone();
        let gateway = self.config.route(HEARTBEAT_SERVICE);
        let deadline = started + timeout;
        loop {
            let mut report = PollReport::default();
            let wanted = |file: &str| file.contains(&name);
            let lock = self.lock_polls()?;
            self.poll_gateway(gateway, inbox, &PollOptions::default(), &wanted, &mut report)?;
            drop(lock);
            if let Some(r) = report.receipts.into_iter().find(|r| r.receipt.transaction_id == name) {
                if r.receipt.code == StatusCode::Error {
                    let error = r.receipt.first_error().cloned().unwrap_or_default();
                    return Err(Error::new(
                        ErrorKind::SubmissionRejected,
                        format!(
                            "the heartbeat {name} was answered with status 0: {} {}",
                            error.code.unwrap_or_default(),
                            error.message.unwrap_or_default()
                        ),
                    ));
                }
                return Ok(Ping { name, receipt: r.receipt, round_trip: started.elapsed() });
            }
            if Instant::now() >= deadline {
                // Not a network failure: the upload went through; the answer is overdue.
                return Err(Error::new(
                    ErrorKind::SubmissionOverdue,
                    format!(
                        "the heartbeat {name} got no status within {:?}: the gateway takes files but does not answer; \
                         try again later (its status will still be collected by `skat-gateway poll`)",
                        timeout
                    ),
                ));
            }
            if !self.wait(Duration::from_millis(200)) {
                return Err(Error::new(
                    ErrorKind::SubmissionOverdue,
                    format!(
                        "stopped waiting for the heartbeat {name}'s status; its status will still be collected by \
                         `skat-gateway poll`"
                    ),
                ));
            }
        }
    }

    /// Migration: logs in to the legacy gateway with the certificate alone and reads this certificate's new
    /// password from `UID_<uid>/NyFTPSLoginInfo/Ny_FTPS_Login_Info.txt`.
    pub fn fetch_login_info(&mut self) -> Result<Secret> {
        let path = migration::login_info_path(&self.owner)?;
        let mut content = zeroize::Zeroizing::new(Vec::new());
        self.with_session(GatewayChoice::Legacy, |s| {
            content.clear();
            s.get(&path, &mut *content, ftp::TransferType::Binary, None).map_err(|e| {
                if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::PermissionDenied {
                    e.context(format!(
                        "the legacy gateway has no {path} for {}: the agency may not have placed the password yet, or \
                         the certificate was already moved; ask the agency",
                        "this certificate"
                    ))
                } else {
                    e
                }
            })
        })?;
        migration::parse_login_info(&content, &path)
    }
}

/// A file copied into the spool folder, not yet under its final name.
struct Snapshot {
    file: PartialFile,
    size: u64,
    sha256: String,
}

/// What a submission sends, before its name is known.
enum Payload {
    /// A snapshot and the spool folder it goes to.
    Snapshot(PartialFile, PathBuf),
    Memory(Vec<u8>),
}

/// What an upload reads from.
enum Source {
    Spool(PathBuf),
    Memory(Vec<u8>),
}

impl Source {
    fn open(&self) -> Result<Box<dyn Read + '_>> {
        match self {
            Source::Spool(path) => {
                let file = File::open(path).map_err(|e| {
                    Error::new(
                        ErrorKind::Io,
                        format!("cannot read the spool copy {}: {e}; submit the file again to make a new one", path.display()),
                    )
                    .with_source(e)
                })?;
                Ok(Box::new(file))
            }
            Source::Memory(bytes) => Ok(Box::new(bytes.as_slice())),
        }
    }
}

/// True when two looks at a file saw the same version of it: same file, size and modification time.
fn same_version(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (a.dev(), a.ino()) != (b.dev(), b.ino()) {
            return false;
        }
    }
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}; check the folder's permissions and free space", path.display())).with_source(e)
}

/// Moves a finished download into the inbox under the remote name, durably (see [`crate::durable`]). If a
/// file of that name is there already with the same content, the download is dropped (no duplicate); with
/// other content, the new file gets a numbered name, so nothing is ever overwritten, even by a poll running
/// at the same moment.
fn place_in_inbox(mut download: PartialFile, inbox: &Path, remote_name: &str, sha256: &str) -> Result<PathBuf> {
    let mut candidate = inbox.join(remote_name);
    let mut n = 1;
    while !download.persist_new(&candidate)? {
        if hash_file(&candidate).map(|(_, h)| h == sha256).unwrap_or(false) {
            return Ok(candidate);
        }
        candidate = inbox.join(format!("{remote_name}.{n}"));
        n += 1;
    }
    Ok(candidate)
}

/// Size and SHA-256 of a local file, read in one streaming pass.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    let unreadable = |e: std::io::Error| {
        Error::new(ErrorKind::Io, format!("cannot read {}: {e}; check the path and permissions", path.display())).with_source(e)
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("{} is not a regular file; give the file to submit", path.display())));
    }
    let mut file = File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}

    /// The faces rely on these: a client moves to a worker thread; journal and config may be shared.
    #[test]
    fn thread_safety_is_as_documented() {
        assert_send::<Client>();
        assert_send_sync::<Journal>();
        assert_send_sync::<Config>();
        assert_send_sync::<PollReport>();
    }

    #[test]
    fn only_connection_problems_are_retried() {
        assert!(is_transient(&Error::new(ErrorKind::ConnectionLost, "x")));
        assert!(is_transient(&Error::new(ErrorKind::Timeout, "x")));
        assert!(is_transient(&Error::new(ErrorKind::UnexpectedReply, "x").with_reply(425, "Can't open data connection")));
        assert!(!is_transient(&Error::new(ErrorKind::UnexpectedReply, "x").with_reply(550, "no")));
        assert!(!is_transient(&Error::new(ErrorKind::PermissionDenied, "x")));
        assert!(!is_transient(&Error::new(ErrorKind::Authentication, "x")));
    }

    #[test]
    fn the_inbox_never_overwrites_a_different_file() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path();
        std::fs::write(inbox.join("r.xml"), b"first").unwrap();
        let download = |content: &[u8]| {
            let mut partial = PartialFile::beside(&inbox.join("r.xml")).unwrap();
            partial.write_all(content).unwrap();
            partial
        };
        let sha = hex::encode(Sha256::digest(b"second"));
        let placed = place_in_inbox(download(b"second"), inbox, "r.xml", &sha).unwrap();
        assert_eq!(placed, inbox.join("r.xml.1"));
        assert_eq!(std::fs::read(inbox.join("r.xml")).unwrap(), b"first");
        // The same content again lands on the existing copy: no duplicate, and no temporary file left.
        let again = place_in_inbox(download(b"second"), inbox, "r.xml", &sha).unwrap();
        assert_eq!(again, inbox.join("r.xml.1"));
        assert_eq!(std::fs::read_dir(inbox).unwrap().count(), 2);
    }
}
