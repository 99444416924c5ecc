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
use crate::durable::{self, PartialFile};
use crate::error::{Error, ErrorKind, Result};
use crate::ftp::{self, Session};
use crate::identity::Identity;
use crate::journal::{self, Claim, Dedupe, Journal, ReceiptOutcome, Submission, SubmissionState, UploadRequest};
use crate::secret::Secret;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod parallel;
use parallel::Crew;

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
    /// Another process is uploading the same content as `name` right now: this submission waits for it, then
    /// decides again (and usually finds the content sent).
    WaitingForOtherUpload { name: String },
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
    /// The file was uploaded under a new name as this submission.
    Sent(Submission),
    /// An earlier, interrupted upload of the same content was finished under its name, as this submission.
    Resumed(Submission),
    /// The same content went to the same service before, as this submission, which has not failed: nothing
    /// was sent.
    AlreadySubmitted(Submission),
}

impl Submitted {
    pub fn submission(&self) -> &Submission {
        match self {
            Submitted::Sent(s) | Submitted::Resumed(s) | Submitted::AlreadySubmitted(s) => s,
        }
    }

    pub fn into_submission(self) -> Submission {
        match self {
            Submitted::Sent(s) | Submitted::Resumed(s) | Submitted::AlreadySubmitted(s) => s,
        }
    }

    /// `sent`, `resumed` or `already_submitted`: what scripts read in `submit --json`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Submitted::Sent(_) => "sent",
            Submitted::Resumed(_) => "resumed",
            Submitted::AlreadySubmitted(_) => "already_submitted",
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
    /// Files named like status files that could not be understood.
    pub invalid: Vec<InvalidFile>,
    /// Files of `out` whose names cannot be files in the inbox: left in `out`, not fetched.
    pub skipped: Vec<SkippedFile>,
    /// Names of the submissions that passed their deadline during this poll.
    pub newly_overdue: Vec<String>,
    /// After the poll, from the journal: every submission of this certificate that was rejected (status 0, or
    /// an upload refused for good) and not closed (acknowledged) since.
    pub rejected: Vec<Submission>,
    /// Every submission of this certificate that is Overdue (no status 2 before its deadline).
    pub overdue: Vec<Submission>,
    /// Every upload of this certificate that was interrupted and that no live process holds: submit the same
    /// file again to finish it, or close it to abandon it.
    pub stale: Vec<Submission>,
    /// Names of the submissions still waiting for a status.
    pub pending: Vec<String>,
}

/// A file named like a status file that could not be understood.
#[derive(Clone, Debug, Serialize)]
pub struct InvalidFile {
    pub gateway: GatewayChoice,
    pub remote_name: String,
    /// Its copy in the inbox.
    pub local_path: PathBuf,
    pub reason: String,
}

/// A file of `out` that was not fetched because its name cannot be a file in the inbox.
#[derive(Clone, Debug, Serialize)]
pub struct SkippedFile {
    pub gateway: GatewayChoice,
    pub remote_name: String,
    pub reason: String,
}

/// The answer to a heartbeat.
#[derive(Clone, Debug, Serialize)]
pub struct Ping {
    pub name: String,
    pub receipt: Receipt,
    /// From the start of the upload to the status 1 file (in JSON: `round_trip_ms`, whole milliseconds).
    #[serde(rename = "round_trip_ms", serialize_with = "serialize_millis")]
    pub round_trip: Duration,
}

fn serialize_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

const TRANSIENT_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// How often a connection is tried when it fails in a way a network cut explains (waiting 0.5 s, then 1 s).
const CONNECT_TRIES: u32 = 3;

/// How long a listing of a gateway's service folders, recorded in the journal, is trusted to show that a
/// service may be used (see [`Client::check_service`]): an hour, so that a system sending each declaration
/// in its own process lists the gateway about once an hour, not once per file.
const REMEMBERED_LISTING_TRUSTED: Duration = Duration::from_secs(60 * 60);



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
///
/// That includes a TLS handshake that broke off without an alert right after the server's hello: it is what a
/// rejected client certificate usually looks like (see the TLS connector), but a network cut at that moment
/// looks the same. Repeated, a rejection shows again and is reported as one; a cut goes away.
fn is_transient(error: &Error) -> bool {
    let inferred_rejection = error.kind() == ErrorKind::TlsClientCertificateRejected
        && std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>());
    matches!(error.kind(), ErrorKind::ConnectionLost | ErrorKind::Timeout | ErrorKind::ConnectionRefused)
        || inferred_rejection
        || (error.kind() == ErrorKind::UnexpectedReply && error.server_reply().is_some_and(|r| (400..500).contains(&r.code)))
}

/// An upload error that means the gateway will not take this file (a folder it may not write, a name it
/// refuses, a 5xx reply to the transfer): the submission fails. Anything else (connecting, logging in, a
/// local read) leaves it unfinished, to be finished by submitting the file again: it says nothing about the
/// file.
fn refuses_the_file(error: &Error) -> bool {
    matches!(error.kind(), ErrorKind::PermissionDenied | ErrorKind::NotFound)
        || (error.kind() == ErrorKind::UnexpectedReply && error.server_reply().is_some_and(|r| r.code >= 500))
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

    /// The open session to `gateway`, connecting (and logging in) when there is none; a connection that fails
    /// in a way a network cut explains (see [`is_transient`]) is tried again, up to [`CONNECT_TRIES`] times.
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
            let mut tries = 1;
            let session = loop {
                match Session::connect(&config) {
                    Err(e) if is_transient(&e) && tries < CONNECT_TRIES => {
                        log::info!("{e}; connecting again");
                        std::thread::sleep(TRANSIENT_RETRY_PAUSE * tries);
                        tries += 1;
                    }
                    other => break other?,
                }
            };
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

    /// The services this certificate sees on a gateway (its folders), cached per session. Each listing is
    /// also recorded in the journal, where the next `submit` may find its service (see `check_service`).
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
        if gateway == GatewayChoice::New {
            let names: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
            if let Err(e) = self.journal.remember_service_listing(&self.owner, &self.listing_key(gateway), &names) {
                // Only the next submit's shortcut is lost: it lists the gateway again.
                log::warn!("could not record the services of the {} gateway in the journal: {e}", gateway.as_str());
            }
        }
        Ok(services)
    }

    /// Which gateway a listing recorded in the journal is of: the gateway and its address, so that the test
    /// and production environments, or a simulator, never answer for each other.
    fn listing_key(&self, gateway: GatewayChoice) -> String {
        let address = self.config.address(gateway);
        format!("{} {}:{}", gateway.as_str(), address.host, address.port)
    }

    /// Whether a listing of `gateway` recorded in the journal within [`REMEMBERED_LISTING_TRUSTED`] shows
    /// `service`.
    fn remembered_service(&self, service: &Service, gateway: GatewayChoice) -> bool {
        let listing = match self.journal.service_listing(&self.owner, &self.listing_key(gateway)) {
            Ok(Some(listing)) => listing,
            Ok(None) => return false,
            Err(e) => {
                log::warn!("could not read the recorded services of the {} gateway: {e}; listing them", gateway.as_str());
                return false;
            }
        };
        let age = journal::now_ms() - listing.listed_at;
        // A listing from the future (a clock set back) is not trusted either.
        let trusted = (0..REMEMBERED_LISTING_TRUSTED.as_millis() as i64).contains(&age) && listing.services.contains(&service.name);
        if !trusted {
            return false;
        }
        log::debug!("{} is among the services the {} gateway listed {} s ago", service.name, gateway.as_str(), age / 1000);
        true
    }

    /// After the gateway refused an upload that a remembered listing let through: forgets that listing and
    /// looks again. When the service's folder is gone (the certificate lost the role), the error says that,
    /// rather than the bare refusal; otherwise the refusal stands.
    fn recheck_after_refusal(&mut self, service: &Service, gateway: GatewayChoice, refusal: Error) -> Error {
        if let Err(e) = self.journal.forget_service_listing(&self.owner, &self.listing_key(gateway)) {
            log::warn!("could not forget the recorded services of the {} gateway: {e}", gateway.as_str());
        }
        self.visible[slot(gateway)] = None;
        match self.check_service(service, gateway, false) {
            Err(gone) if gone.kind() == ErrorKind::ServiceNotAvailable => gone,
            _ => refusal,
        }
    }

    /// The services this certificate may use on the default gateway.
    pub fn services(&mut self) -> Result<Vec<Service>> {
        let gateway = self.config.default_gateway;
        self.services_on(gateway)
    }

    /// Refuses a service the certificate may not use on `gateway` (its folder is not there), before a name is
    /// spent on it. With `may_remember`, on the new gateway, a listing recorded in the journal within the last
    /// hour that shows the service is enough, and `Ok(true)` says it was used: that saves a one-file submit the
    /// listing's five round trips. A role is granted far more often than taken away: a service the recorded
    /// listing lacks is looked up afresh (a role granted a minute ago works at once), and a folder taken away
    /// since shows as the upload's refusal, after which [`Client::recheck_after_refusal`] lists again. The
    /// legacy gateway is always listed: it takes an upload for a service the certificate lacks and answers
    /// it later with a status 0, so there a record out of date would cost a name and a rejection.
    fn check_service(&mut self, service: &Service, gateway: GatewayChoice, may_remember: bool) -> Result<bool> {
        let may_remember = may_remember && gateway == GatewayChoice::New;
        if may_remember && self.visible[slot(gateway)].is_none() && self.remembered_service(service, gateway) {
            return Ok(true);
        }
        let visible = self.services_on(gateway)?;
        if visible.iter().any(|s| s.name == service.name) {
            return Ok(false);
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
    /// earlier submission instead (see [`Client::submit_file`], which tells the cases apart).
    pub fn submit(&mut self, service: &str, file: &Path, options: &SubmitOptions) -> Result<Submission> {
        self.submit_file(service, file, options).map(Submitted::into_submission)
    }

    /// As [`Client::submit`], saying what was done. The rules, which make re-running the same command after a
    /// crash safe and overlapping runs send a file once (decided in one journal transaction, see
    /// [`Journal::claim_upload`]):
    /// - content this certificate already got to the gateway for the same service, and that has not failed nor
    ///   been closed, is not sent again ([`Submitted::AlreadySubmitted`]), unless `options.again`. For a query
    ///   service (see [`Service::is_query`]) this holds only while the earlier query waits for its answer;
    /// - an interrupted upload of the same content is finished under its name ([`Submitted::Resumed`]);
    /// - one that another live process is uploading is waited for ([`Event::WaitingForOtherUpload`]), then the
    ///   rules apply again (and usually find the content sent);
    /// - otherwise the file goes out under a new name ([`Submitted::Sent`]).
    pub fn submit_file(&mut self, service: &str, file: &Path, options: &SubmitOptions) -> Result<Submitted> {
        let service = Service::named(service)?;
        if let Some(name) = &options.name {
            names::validate(name)?;
        }
        let local = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let spool = self.journal.spool_folder(&self.owner)?;
        let removed = durable::remove_abandoned_partials(&spool, durable::ABANDONED_AGE);
        if removed > 0 {
            log::info!("removed {removed} snapshot(s) left by killed submits from {}", spool.display());
        }
        let snapshot = self.snapshot(file, &spool)?;
        if snapshot.size == 0 && !options.allow_empty {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "{} is empty, which for a declaration almost always means a half-written export; nothing was sent. \
                     Submit it once it is complete, or give --allow-empty (SubmitOptions::allow_empty) if empty is meant",
                    file.display()
                ),
            ));
        }
        let request = UploadRequest {
            owner: self.owner.clone(),
            gateway: self.config.route(&service.name).as_str().to_string(),
            service: service.name.clone(),
            local_path: Some(local),
            size: snapshot.size,
            sha256: snapshot.sha256.clone(),
            name: options.name.clone(),
            dedupe: dedupe_for(&service, options),
            snapshot: Some(snapshot.file.temporary_path().to_path_buf()),
        };
        let label = file.display().to_string();
        self.submit_claimed(service, request, options, Payload::Snapshot(snapshot.file), file.file_name().map(Path::new), &label)
    }

    /// Submits several files to one service, over up to [`Config::sessions`] sessions at once (one more
    /// session for each 4 files, so that a login pays for itself): on a line with 20 ms round trips each file
    /// costs several of them, and sessions in parallel hide them. Each file follows the rules of
    /// [`Client::submit_file`], decided in the journal as for separate processes, so the guarantees are the
    /// same: a content in the list twice goes out once, a name is journaled before its upload, an interrupted
    /// upload is finished by the next submit. The results come in the order of `files`, one per file,
    /// whatever happened to the others.
    ///
    /// This client's session does one share of the work; the others are opened for the call and closed at
    /// its end. Events from every session reach this client's handler (one at a time), and its keep-waiting
    /// hook is asked by all of them.
    pub fn submit_files(&mut self, service: &str, files: &[PathBuf], options: &SubmitOptions) -> Vec<Result<Submitted>> {
        let mut crew = Crew::default();
        // One fresh look at the services for the whole call, which every session inherits: trusted by each of
        // N sessions, a record of a role taken away since would cost N names before each found out. (An
        // error here is left to each file's own check to report.)
        if files.len() > 1 {
            if let Ok(named) = Service::named(service) {
                let _ = self.services_on(self.config.route(&named.name));
            }
        }
        if options.name.is_none() {
            self.enlist(&mut crew, self.sessions_for(files.len()));
        }
        // A file that fails for its own reasons does not stop the others; one that found the gateway gone
        // (after its own retries) does: the rest would each wait through the same retries and leave an
        // interrupted upload behind, where untried they spend no name.
        let gateway_gone = |result: &Result<Submitted>| result.as_ref().is_err_and(is_gateway_gone);
        let results = self.share_out(&mut crew, files, |client, file| client.submit_file(service, file, options), gateway_gone);
        crew.dismiss();
        let why = results.iter().flatten().find(|r| gateway_gone(r)).and_then(|r| r.as_ref().err()).map(|e| (e.kind(), e.to_string()));
        results
            .into_iter()
            .zip(files)
            .map(|(result, file)| {
                result.unwrap_or_else(|| {
                    let (kind, why) = why.clone().unwrap_or((ErrorKind::Internal, "no reason recorded".to_string()));
                    Err(Error::new(
                        kind,
                        format!(
                            "{}: not tried, nothing was sent and no name was spent: an earlier file of this call found \
                             the gateway unreachable ({why}); submit it again when the gateway is back",
                            file.display()
                        ),
                    ))
                })
            })
            .collect()
    }

    /// Submits bytes held in memory (e.g. a generated declaration) under a generated or given name. The same
    /// rules as for [`Client::submit_file`] apply, content included.
    pub fn submit_bytes(&mut self, service: &str, bytes: &[u8], extension: &str, options: &SubmitOptions) -> Result<Submission> {
        self.submit_bytes_as(service, bytes, extension, options).map(Submitted::into_submission)
    }

    /// As [`Client::submit_bytes`], saying what was done (see [`Client::submit_file`]).
    pub fn submit_bytes_as(&mut self, service: &str, bytes: &[u8], extension: &str, options: &SubmitOptions) -> Result<Submitted> {
        let service = Service::named(service)?;
        if let Some(name) = &options.name {
            names::validate(name)?;
        }
        if bytes.is_empty() && !options.allow_empty {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the declaration to submit is empty (0 bytes); nothing was sent. Set SubmitOptions::allow_empty if empty is meant",
            ));
        }
        let hint = PathBuf::from(format!("{}.{}", options.prefix.as_deref().unwrap_or("sub"), extension.trim_start_matches('.')));
        let request = UploadRequest {
            owner: self.owner.clone(),
            gateway: self.config.route(&service.name).as_str().to_string(),
            service: service.name.clone(),
            local_path: None,
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
            name: options.name.clone(),
            dedupe: dedupe_for(&service, options),
            snapshot: None,
        };
        self.submit_claimed(service, request, options, Payload::Memory(bytes.to_vec()), Some(&hint), "the declaration")
    }

    /// Copies `file` into a temporary file in `spool` (mode 0600) while hashing it, and checks that the source
    /// did not change meanwhile (same file, size and modification time before and after, and exactly that many
    /// bytes read). The copy is not synced: it only has to last while this process uploads it, since a resumed
    /// upload makes a new snapshot, which must have the recorded hash.
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
        let mut copy = PartialFile::private_beside(&spool.join("snapshot"))?;
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

    /// Claims the upload (waiting for another process's upload of the same content when there is one), sends
    /// it and records the outcome.
    fn submit_claimed(
        &mut self,
        service: Service,
        request: UploadRequest,
        options: &SubmitOptions,
        payload: Payload,
        name_hint: Option<&Path>,
        label: &str,
    ) -> Result<Submitted> {
        let gateway = self.config.route(&service.name);
        // Before a name is used up: a mistyped service, or one the certificate may not use, sends nothing. A
        // name the user chose is worth a fresh look: a refusal would spend it in the journal.
        let remembered = self.check_service(&service, gateway, options.name.is_none())?;
        let mut generate = || names::generate(options.prefix.as_deref(), name_hint);
        let (claim, resumed) = loop {
            match self.journal.claim_upload(&request, &mut generate)? {
                Claim::New(claim) => break (claim, false),
                Claim::Resume(claim) => break (claim, true),
                Claim::AlreadySubmitted(earlier) => {
                    log::info!("{label}: already submitted as {}, state {}; not sent again", earlier.name, earlier.state);
                    // Dropping the payload removes the snapshot.
                    return Ok(Submitted::AlreadySubmitted(earlier));
                }
                Claim::Busy(live) => {
                    log::warn!(
                        "{label}: another process (or another session of this one) is submitting the same content to {} \
                         as {} right now; waiting for it to finish",
                        service.name,
                        live.name
                    );
                    self.emit(Event::WaitingForOtherUpload { name: live.name.clone() });
                    self.wait_for_upload(&live.name, label)?;
                }
            }
        };
        let name = claim.name().to_string();
        // A resumed upload is an earlier submission's, whose name (perhaps chosen) may have reached the gateway:
        // it is never failed on a record's word. Listed afresh, a service gone leaves it unfinished, as before.
        let remembered = if remembered && resumed {
            if let Err(e) = self.check_service(&service, gateway, false) {
                self.journal.release_upload(claim, false)?;
                return Err(e);
            }
            false
        } else {
            remembered
        };
        if resumed {
            log::warn!(
                "{label}: an earlier upload of this content to {} as {name} was interrupted; finishing it under the same name",
                service.name
            );
        }
        let source = match payload {
            Payload::Snapshot(copy) => {
                copy.moved_away();
                let path = claim.submission.spool_path.clone().ok_or_else(|| Error::new(ErrorKind::Internal, "a snapshot without a spool path"))?;
                Source::Spool(path)
            }
            Payload::Memory(bytes) => Source::Memory(bytes),
        };
        self.emit(Event::Reserved { name: name.clone(), service: service.name.clone() });
        match self.upload(gateway, &service, &name, request.size, &source) {
            Ok(bytes) => {
                let s = self.journal.complete_upload(claim, self.config.deadline)?;
                log::info!("uploaded {name} to {} ({bytes} bytes, attempt {})", service.name, s.attempts);
                self.emit(Event::Uploaded { name, bytes, attempts: s.attempts });
                Ok(if resumed { Submitted::Resumed(s) } else { Submitted::Sent(s) })
            }
            Err(UploadFailure::Refused(e)) => {
                let e = if remembered && matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::NotFound) {
                    self.recheck_after_refusal(&service, gateway, e)
                } else {
                    e
                };
                // Refused for good (permission, a local read error, ...): record why; the copy serves nothing.
                let code = format!("{:?}", e.kind());
                self.journal.fail(&self.owner, &name, &code, e.message())?;
                self.journal.release_upload(claim, true)?;
                Err(e.context(format!("submission {name} failed")))
            }
            Err(UploadFailure::GaveUp(e)) => {
                // Still unfinished: the copy stays, and the same file submitted again finishes it.
                self.journal.release_upload(claim, false)?;
                Err(e)
            }
        }
    }

    /// Waits until no process holds the upload of `name`. Without a keep-waiting hook this blocks on the lock;
    /// with one, it looks every 200 ms and asks the hook, so a face can end the wait (Ctrl-C).
    fn wait_for_upload(&mut self, name: &str, label: &str) -> Result<()> {
        if self.keep_waiting.is_none() {
            return self.journal.wait_for_upload(&self.owner, name);
        }
        while !self.journal.upload_is_free(&self.owner, name)? {
            if !self.wait(Duration::from_millis(200)) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "stopped waiting for another process's upload of {label} as {name}; nothing was sent by this \
                         one: submit the file again to find out what became of it"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Sends `source` as `name` into the service's folder, retrying connection failures under the same name
    /// (each attempt after the first, which the claim recorded, is counted in the journal before it starts).
    fn upload(&mut self, gateway: GatewayChoice, service: &Service, name: &str, size: u64, source: &Source) -> Result<u64, UploadFailure> {
        let folder = self.services_folder(gateway).map_err(UploadFailure::GaveUp)?;
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
            if attempt > 1 {
                self.journal.start_upload(&self.owner, name).map_err(UploadFailure::GaveUp)?;
            }
            let mut reader = source.open().map_err(UploadFailure::GaveUp)?;
            // The session is opened before the handler is taken out for the progress reports, so that its
            // Connecting and Connected events reach the handler too.
            let result = self.session(gateway).map(|_| ()).and_then(|()| {
                let mut events = self.events.take();
                let mut report = |sent: u64| {
                    if let Some(handler) = events.as_mut() {
                        handler(&Event::Uploading { name: name.to_string(), sent, total: size });
                    }
                };
                let result = self.session(gateway).and_then(|session| session.put(&mut reader, &remote, transfer, Some(&mut report)));
                self.events = events;
                result
            });
            match result {
                Ok(bytes) => return Ok(bytes),
                Err(e) if is_transient(&e) => {
                    log::warn!("upload of {name} (attempt {attempt} of {attempts}) failed: {e}; retrying under the same name");
                    self.emit(Event::Retrying { name: name.to_string(), attempt, error: e.to_string() });
                    self.drop_session(gateway);
                    last_error = Some(e);
                    if attempt < attempts {
                        std::thread::sleep(TRANSIENT_RETRY_PAUSE * attempt);
                    }
                }
                Err(e) if refuses_the_file(&e) => return Err(UploadFailure::Refused(e)),
                Err(e) => return Err(UploadFailure::GaveUp(e)),
            }
        }
        let e = last_error.unwrap_or_else(|| Error::new(ErrorKind::Internal, "no upload attempt was made"));
        Err(UploadFailure::GaveUp(Error::new(
            e.kind(),
            format!(
                "the upload of {name} to {} failed {attempts} times ({e}); it stays recorded as {name} in the journal: \
                 submit the same file again to finish it under the same name",
                service.name
            ),
        )))
    }

    /// Fetches everything new from `out` into `inbox`, records it, applies status files to their submissions
    /// and only then deletes the files remotely (unless kept). Marks submissions past their deadline Overdue.
    /// The report also lists, from the journal, every submission that needs attention now (rejected and not
    /// closed, overdue, interrupted uploads) and every one still waiting for a status.
    ///
    /// Polls of one journal run one at a time (see [`Journal::lock_polls`]): a second one waits for the first.
    pub fn poll(&mut self, inbox: &Path, options: &PollOptions) -> Result<PollReport> {
        let _lock = self.lock_polls()?;
        let mut report = PollReport::default();
        let mut crew = Crew::default();
        let polled = self.gateways_to_poll().and_then(|gateways| {
            gateways.into_iter().try_for_each(|gateway| self.poll_gateway(gateway, inbox, options, &|_| true, &mut report, &mut crew))
        });
        crew.dismiss();
        polled?;
        for s in self.journal.mark_overdue(&self.owner, journal::now_ms())? {
            log::warn!("{} ({}) is overdue: no status 2 (accepted) before its deadline", s.name, s.service);
            report.newly_overdue.push(s.name);
        }
        self.fill_attention(&mut report)?;
        Ok(report)
    }

    /// The journal's view after a poll: what needs attention, and what still waits.
    fn fill_attention(&self, report: &mut PollReport) -> Result<()> {
        report.rejected = self.rejected()?;
        report.overdue = self.journal.submissions_in_states(&self.owner, &[SubmissionState::Overdue])?;
        report.stale = self.stale_uploads()?;
        report.pending = self.pending()?.into_iter().map(|s| s.name).collect();
        Ok(())
    }

    /// Polls every `interval` until no submission of this certificate waits for a status (everything
    /// Responded, Failed or Closed; heartbeats are done at status 1), `wait` has passed, or the keep-waiting
    /// hook ([`Client::set_keep_waiting`]) said to stop. A connection failure (the gateway restarting, the
    /// network gone for a while) does not end the wait: the next poll reconnects. If the last poll before the
    /// wait ran out failed, that failure is the result.
    pub fn poll_until_settled(&mut self, inbox: &Path, options: &PollOptions, wait: Duration, interval: Duration) -> Result<PollReport> {
        if interval.is_zero() {
            return Err(Error::new(ErrorKind::InvalidArgument, "the poll interval is zero; give one of at least 1 s (e.g. 2s)"));
        }
        let deadline = Instant::now() + wait;
        let mut total = PollReport::default();
        loop {
            match self.poll(inbox, options) {
                Ok(report) => {
                    total.files.extend(report.files);
                    total.receipts.extend(report.receipts);
                    total.unknown.extend(report.unknown);
                    total.unknown_files.extend(report.unknown_files);
                    total.invalid.extend(report.invalid);
                    total.skipped.extend(report.skipped);
                    total.newly_overdue.extend(report.newly_overdue);
                    (total.rejected, total.overdue, total.stale, total.pending) =
                        (report.rejected, report.overdue, report.stale, report.pending);
                    if total.pending.is_empty() || Instant::now() >= deadline {
                        return Ok(total);
                    }
                }
                Err(e) if is_transient(&e) && Instant::now() < deadline => {
                    log::warn!("{e}; polling again in {} s, until the wait ends", interval.as_secs_f64());
                    self.drop_session(GatewayChoice::New);
                    self.drop_session(GatewayChoice::Legacy);
                }
                Err(e) => return Err(e),
            }
            if !self.wait(interval.min(deadline.saturating_duration_since(Instant::now()))) {
                return Ok(total);
            }
        }
    }

    /// Closes this certificate's submission `name` (see [`Journal::close`]): stops waiting for a status that
    /// will not come, abandons an interrupted upload that will not be finished, or acknowledges a rejection.
    pub fn close_submission(&self, name: &str, reason: Option<&str>) -> Result<Submission> {
        self.journal.close(&self.owner, name, reason)
    }

    /// This certificate's uploads that were interrupted and that no live process holds (see
    /// [`Journal::stale_uploads`]): submit the same file again to finish one, or close it to abandon it.
    pub fn stale_uploads(&self) -> Result<Vec<Submission>> {
        self.journal.stale_uploads(&self.owner)
    }

    /// This certificate's rejected submissions (status 0, or an upload refused for good) that nobody closed
    /// (acknowledged) yet.
    pub fn rejected(&self) -> Result<Vec<Submission>> {
        Ok(self
            .journal
            .submissions_in_states(&self.owner, &[SubmissionState::Failed])?
            .into_iter()
            .filter(|s| s.closed_at.is_none())
            .collect())
    }

    /// Submissions of this certificate still waiting for a status.
    pub fn pending(&self) -> Result<Vec<Submission>> {
        use SubmissionState as S;
        Ok(self
            .journal
            .submissions_in_states(&self.owner, &[S::Uploaded, S::Delivered, S::Accepted, S::Overdue])?
            .into_iter()
            .filter(|s| !(s.state == S::Delivered && s.service == HEARTBEAT_SERVICE))
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
        if self.journal.has_unsettled_on(&self.owner, GatewayChoice::Legacy.as_str())? {
            gateways.insert(slot(GatewayChoice::Legacy));
        }
        Ok(gateways.into_iter().map(|i| if i == 0 { GatewayChoice::New } else { GatewayChoice::Legacy }).collect())
    }

    /// One gateway's part of a poll: the listing of `out`, the downloads (over the sessions of `crew` as well
    /// when there are many), then each file in turn (status files first) applied to the journal, and at the
    /// end the remote deletes of what is safely recorded (again over the crew).
    fn poll_gateway(
        &mut self,
        gateway: GatewayChoice,
        inbox: &Path,
        options: &PollOptions,
        wanted: &dyn Fn(&str) -> bool,
        report: &mut PollReport,
        crew: &mut Crew,
    ) -> Result<()> {
        std::fs::create_dir_all(inbox).map_err(|e| {
            if inbox.exists() && !inbox.is_dir() {
                return Error::new(
                    ErrorKind::Io,
                    format!("the inbox {} is not a folder; give a folder (it is created if missing), nothing was fetched", inbox.display()),
                );
            }
            Error::new(ErrorKind::Io, format!("cannot create the inbox {}: {e}; check the path and permissions", inbox.display()))
                .with_source(e)
        })?;
        let removed = durable::remove_abandoned_partials(inbox, durable::ABANDONED_AGE);
        if removed > 0 {
            log::info!("removed {removed} temporary file(s) of downloads killed earlier from {}", inbox.display());
        }
        let entries = self.with_session(gateway, |s| s.list(Some("out")))?;
        let mut files: Vec<_> = entries.into_iter().filter(|e| !e.is_dir && wanted(&e.name)).collect();
        // Status files first, so that the response files they name are known before those are looked at.
        files.sort_by_key(|e| (!receipt::is_status_file_name(&e.name), e.name.clone()));
        // A name that cannot be a file in the inbox (or could escape it) is skipped, and the poll goes on: one
        // odd file must not keep every other receipt from coming in.
        files.retain(|entry| match unusable_local_name(&entry.name) {
            Some(why) => {
                log::warn!("skipping {:?} in out: {why}; it is left there (fetch it by hand if it matters)", entry.name);
                report.skipped.push(SkippedFile { gateway, remote_name: entry.name.clone(), reason: why });
                false
            }
            None => true,
        });

        // Every file safely in the inbox and recorded before any is looked at: what the journal has already
        // needs no network, the rest is downloaded, by several sessions at once when that pays.
        let mut fetched = Vec::with_capacity(files.len());
        for entry in &files {
            fetched.push(self.fetched_before(gateway, &entry.name, entry.size)?.map(Ok));
        }
        let missing: Vec<usize> = (0..files.len()).filter(|&i| fetched[i].is_none()).collect();
        self.enlist(crew, self.sessions_for(missing.len()));
        let downloads = self.share_out(
            crew,
            &missing,
            |client, &i| client.download_to_inbox(gateway, &files[i].name, inbox),
            |download| download.as_ref().is_err_and(|e| !is_one_file_error(e)),
        );
        // A download that failed for more than its own file ends the poll with its error, once everything
        // already in the inbox is applied: the rest were not started, and the next poll takes them.
        let mut first_error = None;
        for (i, download) in missing.into_iter().zip(downloads) {
            match download {
                Some(Err(e)) if !is_one_file_error(&e) => first_error = first_error.or(Some(e)),
                download => fetched[i] = download,
            }
        }

        let mut deletable = Vec::new();
        for (entry, fetched) in files.iter().zip(fetched) {
            let Some(fetched) = fetched else { continue };
            let fetched = match fetched {
                Ok(fetched) => fetched,
                // Gone between the listing and the download: another system sharing the certificate took it.
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    log::info!("{} left out before it could be fetched (another system took it): {e}", entry.name);
                    continue;
                }
                // The local file system refuses the name (too long for it, characters it cannot hold).
                Err(e) if e.kind() == ErrorKind::InvalidFilename => {
                    log::warn!("skipping {:?} in out: {e}; it is left there", entry.name);
                    report.skipped.push(SkippedFile { gateway, remote_name: entry.name.clone(), reason: e.message().to_string() });
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
                        let received = ReceivedReceipt { gateway, receipt: parsed, outcome, local_path: fetched.local_path.clone() };
                        if received.outcome.is_ours() {
                            delete = !self.may_be_shared_refusal(&received.receipt)?;
                            report.receipts.push(received);
                        } else {
                            log::warn!(
                                "{}: a status file for {} ({}); kept in out and copied to {}",
                                entry.name,
                                received.receipt.transaction_id,
                                received.outcome,
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
                        report.invalid.push(InvalidFile {
                            gateway,
                            remote_name: entry.name.clone(),
                            local_path: fetched.local_path.clone(),
                            reason: e.message().to_string(),
                        });
                    }
                }
            } else if self.journal.is_response_of_ours(&self.owner, &entry.name)? {
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
                deletable.push((report.files.len(), download_id));
            }
            report.files.push(fetched);
        }

        // Only now, with every copy in the inbox and its meaning in the journal, the remote copies go.
        let names: Vec<(String, Option<i64>)> =
            deletable.iter().map(|&(at, download_id)| (report.files[at].remote_name.clone(), download_id)).collect();
        self.enlist(crew, self.sessions_for(names.len()));
        let deleted = self.share_out(
            crew,
            &names,
            |client, (name, download_id)| client.delete_fetched(gateway, name, *download_id),
            |delete| delete.is_err(),
        );
        for ((at, _), result) in deletable.into_iter().zip(deleted) {
            match result {
                Some(Ok(())) => report.files[at].deleted_remote = true,
                Some(Err(e)) => first_error = first_error.or(Some(e)),
                // Not tried after a failed delete: left in `out`, where the next poll finds them recorded.
                None => {}
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Deletes a fetched file from `out` and records that it is gone there.
    fn delete_fetched(&mut self, gateway: GatewayChoice, name: &str, download_id: Option<i64>) -> Result<()> {
        match self.with_session(gateway, |s| s.delete(&format!("out/{name}"))) {
            Ok(()) => {}
            // Someone else deleted it after we fetched it: gone either way, and our copy is safe.
            Err(e) if e.kind() == ErrorKind::NotFound => log::info!("{name} was already gone from out: {e}"),
            Err(e) => return Err(e),
        }
        if let Some(id) = download_id {
            self.journal.mark_deleted_remote(id)?;
        }
        self.emit(Event::DeletedRemote { remote_name: name.to_string() });
        Ok(())
    }

    /// True for a FILENAME_CANNOT_BE_REUSED status 0 that failed a submission whose name the user chose: another
    /// system sharing the certificate may have sent the same name and need that file too, so it stays in `out`
    /// (see the journal's documentation on which status 0 is whose).
    fn may_be_shared_refusal(&self, receipt: &Receipt) -> Result<bool> {
        if !receipt.is_filename_reused() {
            return Ok(false);
        }
        let chosen = self.journal.find_submission(&self.owner, &receipt.transaction_id)?.is_some_and(|s| s.name_chosen);
        if chosen {
            log::warn!(
                "{}: left in out, as another system sharing the certificate may also have used the name {}",
                receipt.status_file,
                receipt.transaction_id
            );
        }
        Ok(chosen)
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
        // Service and name may both hold underscores: try each split against the journal.
        let mut submission = None;
        for (at, _) in middle.match_indices('_') {
            let (service, name) = (&middle[..at], &middle[at + 1..]);
            if let Some(s) = self.journal.find_submission(&self.owner, name)?.filter(|s| s.service == service) {
                submission = Some(s);
                break;
            }
        }
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
                    "the file is kept in {}: read it, and ask the agency what it means before sending the declaration \
                     again under a new name",
                    local_path.display()
                )),
            }],
        };
        let outcome = self.journal.apply_receipt(&self.owner, &parsed, download_id)?;
        self.emit(Event::Receipt { status_file: status_file.to_string(), transaction_id: submission.name.clone(), code: 0 });
        Ok(Some(ReceivedReceipt { gateway, receipt: parsed, outcome, local_path: local_path.to_path_buf() }))
    }

    /// True when a file recorded as fetched needs no new download: its local copy is there, or it is not a
    /// status file, or its receipt is in the journal. Only a status file whose receipt was never recorded (a
    /// poll cut off between download and record) and whose copy is gone has to be read again.
    fn still_usable(&self, known: &journal::Download) -> Result<bool> {
        Ok(known.local_path.exists()
            || !receipt::is_status_file_name(&known.remote_name)
            || self.journal.recorded_receipt(&self.owner, &known.remote_name)?.is_some())
    }

    /// The inbox copy of a file of `out` when the journal says it needs no new download: fetched before and
    /// still in `out` since (kept, or a poll cut off before its delete), with the same size, and still
    /// usable. `None`: download it (see [`Client::download_to_inbox`]).
    fn fetched_before(&self, gateway: GatewayChoice, remote_name: &str, listed_size: Option<u64>) -> Result<Option<FetchedFile>> {
        // The journal decides, not the inbox: the downstream system moves files out of the inbox, and a file
        // the journal holds must not come back because its local copy is gone.
        let Some(known) = self.journal.download(&self.owner, gateway.as_str(), remote_name)? else { return Ok(None) };
        // A file we deleted that shows up again is a new file under an old name.
        let same_size = listed_size.is_none_or(|s| s == known.size);
        if known.deleted_remote_at.is_some() || !same_size || !self.still_usable(&known)? {
            return Ok(None);
        }
        log::debug!("{remote_name} was fetched before (to {})", known.local_path.display());
        Ok(Some(FetchedFile {
            gateway,
            remote_name: remote_name.to_string(),
            local_path: known.local_path,
            size: known.size,
            sha256: known.sha256,
            new: false,
            deleted_remote: false,
        }))
    }

    /// Brings one file of `out` safely into the inbox: download to a temporary file, fsync, link it into
    /// place under a free name, fsync the folder, then record it. A content the journal already has under
    /// that name is not placed a second time.
    fn download_to_inbox(&mut self, gateway: GatewayChoice, remote_name: &str, inbox: &Path) -> Result<FetchedFile> {
        let known = self.journal.download(&self.owner, gateway.as_str(), remote_name)?;
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
            // One file is wanted: the crew stays empty (no parallel session pays for one file).
            let mut crew = Crew::default();
            let polled = self.poll_gateway(gateway, inbox, &PollOptions::default(), &wanted, &mut report, &mut crew);
            crew.dismiss();
            drop(lock);
            polled?;
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
    /// A snapshot in the spool folder, which the claim moves under the submission's name.
    Snapshot(PartialFile),
    Memory(Vec<u8>),
}

/// Why an upload did not complete.
enum UploadFailure {
    /// Refused for good (permission, a local read error): the submission fails.
    Refused(Error),
    /// Connection failures outlasted the retries: the submission stays unfinished, to be finished later.
    GaveUp(Error),
}

/// How far content deduplication reaches for a submission (see [`Dedupe`]).
fn dedupe_for(service: &Service, options: &SubmitOptions) -> Dedupe {
    if options.again {
        Dedupe::Never
    } else if service.is_query() {
        Dedupe::WhileUnanswered
    } else {
        Dedupe::Always
    }
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

/// An error that says the gateway cannot be reached or will not let this client in at all, so every further
/// file would fail the same way.
fn is_gateway_gone(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::HostNotFound
            | ErrorKind::ConnectionRefused
            | ErrorKind::Timeout
            | ErrorKind::ConnectionLost
            | ErrorKind::Authentication
            | ErrorKind::TlsProtocolVersion
            | ErrorKind::TlsUnknownCa
            | ErrorKind::TlsBadServerCertificate
            | ErrorKind::TlsHostnameMismatch
            | ErrorKind::TlsClientCertificateRejected
    )
}

/// A download error that concerns its own file only (gone from `out`, a name the local file system refuses):
/// the poll goes on with the others. Any other (the connection, the disk, the journal) ends it.
fn is_one_file_error(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidFilename)
}

/// Why a name listed in `out` cannot be a file in the inbox, if it cannot: it could leave the inbox (`..`, a
/// path separator), hide (a leading dot, which our temporary files use), or break the tools that read the inbox
/// (control characters, text that was not UTF-8), or it is longer than a file name may be.
fn unusable_local_name(name: &str) -> Option<String> {
    const MAX_NAME_BYTES: usize = 255;
    if name.is_empty() || name == "." || name == ".." {
        return Some("it is not a file name".into());
    }
    if name.contains(['/', '\\']) {
        return Some("it holds a path separator".into());
    }
    if name.starts_with('.') {
        return Some("it starts with a dot (a hidden file in the inbox)".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(format!("it holds the control character {c:?}"));
    }
    if name.contains('\u{FFFD}') {
        return Some("it is not valid UTF-8".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return Some(format!("it is {} bytes long, more than a file name may have ({MAX_NAME_BYTES})", name.len()));
    }
    if cfg!(windows) {
        if let Some(c) = name.chars().find(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')) {
            return Some(format!("it holds {c:?}, which Windows does not allow in a file name"));
        }
        if name.ends_with(['.', ' ']) {
            return Some("it ends with a dot or a space, which Windows drops".into());
        }
    }
    None
}

/// `remote_name` with ` n` inserted before its extension: `status_S_N_2.xml` -> `status_S_N_2.1.xml`,
/// `reply` -> `reply.1`; the stem is shortened if the result would be longer than a file name may be.
fn numbered_name(remote_name: &str, n: u32) -> String {
    let (stem, extension) = match remote_name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => (stem, format!(".{ext}")),
        _ => (remote_name, String::new()),
    };
    let suffix = format!(".{n}{extension}");
    let mut stem = stem.to_string();
    while stem.len() + suffix.len() > 255 {
        stem.pop();
    }
    format!("{stem}{suffix}")
}

/// A local file system that refuses a name (too long for it, characters it cannot hold) refuses that one
/// file: the poll skips it and goes on.
fn refused_name(error: Error, name: &str) -> Error {
    let refused = std::error::Error::source(&error)
        .and_then(|e| e.downcast_ref::<std::io::Error>())
        .is_some_and(|e| matches!(e.kind(), std::io::ErrorKind::InvalidFilename | std::io::ErrorKind::InvalidInput));
    if refused {
        Error::new(ErrorKind::InvalidFilename, format!("the inbox's file system does not take the name {name:?}: {error}"))
    } else {
        error
    }
}

/// Moves a finished download into the inbox under the remote name, durably (see [`crate::durable`]).
/// - A file of that name with the same content is there already: the download is dropped (no duplicate).
/// - A status file whose copy under that name cannot be read as one (a broken file the gateway then replaced):
///   the new file takes the name, and the broken copy moves aside to `<name>.invalid`, so that a pickup of
///   `*.xml` sees the good one.
/// - Otherwise the new file gets a numbered name that keeps the extension (`status_..._2.1.xml`).
///
/// Nothing is ever overwritten, even by a poll running at the same moment.
fn place_in_inbox(mut download: PartialFile, inbox: &Path, remote_name: &str, sha256: &str) -> Result<PathBuf> {
    let canonical = inbox.join(remote_name);
    if receipt::is_status_file_name(remote_name) && canonical.exists() {
        let readable = |path: &Path| std::fs::read(path).is_ok_and(|content| Receipt::parse(remote_name, &content).is_ok());
        if !readable(&canonical) && readable(download.temporary_path()) {
            move_aside(&canonical)?;
        }
    }
    let mut n = 0;
    loop {
        let candidate = if n == 0 { canonical.clone() } else { inbox.join(numbered_name(remote_name, n)) };
        if download.persist_new(&candidate).map_err(|e| refused_name(e, remote_name))? {
            return Ok(candidate);
        }
        if hash_file(&candidate).map(|(_, h)| h == sha256).unwrap_or(false) {
            return Ok(candidate);
        }
        n += 1;
    }
}

/// Renames `path` to the first free `<path>.invalid`, `<path>.invalid.1`, ... without ever replacing a file.
fn move_aside(path: &Path) -> Result<PathBuf> {
    for n in 0.. {
        let mut aside = path.as_os_str().to_os_string();
        aside.push(if n == 0 { ".invalid".to_string() } else { format!(".invalid.{n}") });
        let aside = PathBuf::from(aside);
        match std::fs::hard_link(path, &aside) {
            Ok(()) => {
                std::fs::remove_file(path).map_err(|e| io_error(path, e))?;
                log::warn!("moved the unreadable copy {} aside to {}, as a good one arrived", path.display(), aside.display());
                return Ok(aside);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error(path, e)),
        }
    }
    unreachable!("an unbounded range always yields another number")
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
        // A handshake broken off without an alert may be a network cut: tried again; an alert is a rejection.
        let cut = Error::new(ErrorKind::TlsClientCertificateRejected, "x").with_source(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        assert!(is_transient(&cut));
        assert!(!is_transient(&Error::new(ErrorKind::TlsClientCertificateRejected, "alert bad_certificate")));
        assert!(refuses_the_file(&Error::new(ErrorKind::PermissionDenied, "x")));
        assert!(!refuses_the_file(&Error::new(ErrorKind::Authentication, "x")), "a refused login says nothing about the file");
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
        assert_eq!(placed, inbox.join("r.1.xml"), "the number goes before the extension");
        assert_eq!(std::fs::read(inbox.join("r.xml")).unwrap(), b"first");
        // The same content again lands on the existing copy: no duplicate, and no temporary file left.
        let again = place_in_inbox(download(b"second"), inbox, "r.xml", &sha).unwrap();
        assert_eq!(again, inbox.join("r.1.xml"));
        assert_eq!(std::fs::read_dir(inbox).unwrap().count(), 2);
    }

    #[test]
    fn a_good_status_file_takes_the_name_of_an_unreadable_copy() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path();
        let name = "status_Manifest.AnkomstdeklarationOpret_d-1.xml_2.xml";
        std::fs::write(inbox.join(name), b"<status><file>").unwrap();
        let good = b"<status><file><FTPTransaktionsId>d-1.xml</FTPTransaktionsId><service>Manifest.AnkomstdeklarationOpret</service></file></status>";
        let mut partial = PartialFile::beside(&inbox.join(name)).unwrap();
        partial.write_all(good).unwrap();
        let placed = place_in_inbox(partial, inbox, name, &hex::encode(Sha256::digest(good))).unwrap();
        assert_eq!(placed, inbox.join(name));
        assert_eq!(std::fs::read(inbox.join(name)).unwrap(), good);
        assert_eq!(std::fs::read(inbox.join(format!("{name}.invalid"))).unwrap(), b"<status><file>", "the broken copy is kept aside");
    }

    #[test]
    fn numbered_names_keep_the_extension_and_fit() {
        assert_eq!(numbered_name("status_S_N_2.xml", 1), "status_S_N_2.1.xml");
        assert_eq!(numbered_name("reply", 3), "reply.3");
        assert_eq!(numbered_name(".hidden", 1), ".hidden.1");
        let long = format!("{}.xml", "x".repeat(251));
        let numbered = numbered_name(&long, 12);
        assert_eq!(numbered.len(), 255);
        assert!(numbered.ends_with(".12.xml"), "{numbered}");
    }

    #[test]
    fn names_that_cannot_be_inbox_files_are_recognised() {
        for ok in ["status_S_a-b_1.xml", "response_S_x", &"y".repeat(255)] {
            assert_eq!(unusable_local_name(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("", "not a file name"),
            ("..", "not a file name"),
            ("../x", "path separator"),
            ("a\\b", "path separator"),
            ("a/b", "path separator"),
            (".gw-0123456789abcdef.part", "starts with a dot"),
            ("a\nb", "control character"),
            ("a\u{7f}", "control character"),
            ("bad\u{FFFD}name", "not valid UTF-8"),
        ] {
            let reason = unusable_local_name(bad).unwrap_or_else(|| panic!("{bad:?} taken"));
            assert!(reason.contains(why), "{bad:?}: {reason}");
        }
        assert!(unusable_local_name(&"z".repeat(256)).unwrap().contains("256 bytes"));
    }
}
