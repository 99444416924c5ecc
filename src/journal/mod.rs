//! The journal: a SQLite file that remembers every name used, every submission and every downloaded file.
//!
//! It is what makes "exactly once" possible across restarts and crashes: a name is committed here *before*
//! its upload starts, so a crashed upload is retried under the same name (the gateway deduplicates by name)
//! and a name is never offered to the gateway twice for different files.
//!
//! Several processes and threads may share one journal file: it runs in WAL mode with a busy time-out, and
//! every read-modify-write is one `BEGIN IMMEDIATE` transaction, so two reservations of the same name cannot
//! both succeed. An upload is *claimed* in the same transaction that decides whether it is needed at all (see
//! [`uploads`]), so overlapping `submit` runs of one file send it once. The schema is versioned with SQLite's
//! `user_version`; [`Journal::open`] migrates older files and refuses files written by a newer version, empty
//! files and other applications' databases ([`schema`]).
//!
//! # Submission states
//!
//! ```text
//!   Reserved ──> Uploading ──> Uploaded ──> Delivered (1) ──> Accepted (2) ──> Responded (3)
//!      │             │  ▲          │  │          │                 │
//!      │             └──┘ retry    │  └──> Overdue (no status 2 before the deadline, also when stuck at 1;
//!      │           (same name)     │         a late status 2, 3 or 0 moves it on)
//!      └─────────────┴─────────────┴──────────> Failed (status 0, or the upload gave up)
//!
//!   every state but Responded and Failed ──> Closed (by the user: nothing more is waited for, an unfinished
//!                                                     upload is abandoned; a late status 3 or 0 still wins)
//!   Failed ──> Failed, acknowledged (closed by the user: `poll` stops reporting it)
//! ```
//!
//! The state is derived from the facts recorded (which status codes arrived, whether the upload finished,
//! whether the deadline passed), never stored blindly, so status files arriving out of order (a 2 before
//! its 1) never move a submission backwards. Overdue applies only until the backend has accepted the file
//! (status 2): after that the file is safe with the agency.
//!
//! # Which status 0 is whose
//!
//! Failed is final, except for the one error that can belong to someone else: a status 0
//! `FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION` is the gateway refusing *an* upload under the name, which is ours
//! only if this journal sent one that can have been refused. The gateway accepts one upload per name and
//! answers the others with that status 0; so for a submission of this journal:
//! - uploaded more than once (a retry after a broken connection): it is the refusal of a retry, recorded, and
//!   the submission carries on;
//! - uploaded once and already answered with status 1, 2 or 3: that upload was accepted, so the refusal is of
//!   another system's upload under the same name (one certificate shared by two systems that choose names):
//!   it is not recorded against the submission, and the file is left in `out` for that system;
//! - uploaded once and not answered yet: its upload was refused and the submission fails. A status 1, 2 or 3
//!   arriving later proves the refusal was another's after all: the failure is lifted. Because another system
//!   can only collide with a name the user chose, a refusal of a chosen name is also left in `out`.

use crate::error::{Error, ErrorKind, Result};
use crate::gateway::receipt::{Receipt, ReceiptError, StatusCode};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

mod listings;
mod schema;
pub mod uploads;

pub use listings::ServiceListing;
pub use schema::SCHEMA_VERSION;
pub use uploads::{Claim, Dedupe, UploadClaim, UploadRequest};

/// Where a submission stands. See the module documentation for the transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum SubmissionState {
    /// The name is committed; the upload has not started.
    Reserved,
    /// An upload is (or was, if the process died) under way.
    Uploading,
    /// The whole file reached the gateway; no status yet.
    Uploaded,
    /// Status 1: delivered to the backend system.
    Delivered,
    /// Status 2: accepted by the backend system.
    Accepted,
    /// Status 3: a response file is waiting (or was fetched).
    Responded,
    /// Status 0, or the upload failed for good.
    Failed,
    /// No status 2 before the deadline (none at all, or stuck at 1); a late 2, 3 or 0 moves it on.
    Overdue,
    /// Closed by the user (`skat-gateway status NAME --close`): nothing more is waited for. A late status 3
    /// or 0 is still recorded and wins.
    Closed,
}

impl SubmissionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionState::Reserved => "Reserved",
            SubmissionState::Uploading => "Uploading",
            SubmissionState::Uploaded => "Uploaded",
            SubmissionState::Delivered => "Delivered",
            SubmissionState::Accepted => "Accepted",
            SubmissionState::Responded => "Responded",
            SubmissionState::Failed => "Failed",
            SubmissionState::Overdue => "Overdue",
            SubmissionState::Closed => "Closed",
        }
    }

    pub fn parse(text: &str) -> Option<SubmissionState> {
        [
            SubmissionState::Reserved,
            SubmissionState::Uploading,
            SubmissionState::Uploaded,
            SubmissionState::Delivered,
            SubmissionState::Accepted,
            SubmissionState::Responded,
            SubmissionState::Failed,
            SubmissionState::Overdue,
            SubmissionState::Closed,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }

    /// True when nothing more is expected (status 3, a failure, or closed by the user).
    pub fn is_final(self) -> bool {
        matches!(self, SubmissionState::Responded | SubmissionState::Failed | SubmissionState::Closed)
    }

    /// True when the file has not fully reached the gateway yet.
    pub fn is_unfinished_upload(self) -> bool {
        matches!(self, SubmissionState::Reserved | SubmissionState::Uploading)
    }
}

impl std::fmt::Display for SubmissionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One submission as the journal knows it. Times are unix milliseconds (UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Submission {
    pub owner: String,
    pub name: String,
    pub service: String,
    pub gateway: String,
    pub local_path: Option<PathBuf>,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    /// The private snapshot the file is uploaded from, while the upload is unfinished (None once the gateway
    /// has the file, or for bytes submitted from memory).
    pub spool_path: Option<PathBuf>,
    pub state: SubmissionState,
    pub attempts: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub upload_started_at: Option<i64>,
    pub uploaded_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub accepted_at: Option<i64>,
    pub responded_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub overdue_at: Option<i64>,
    /// When the submission becomes overdue without a status 1 or 2.
    pub deadline_ms: Option<i64>,
    pub skat_transaction_id: Option<String>,
    pub error: Option<ReceiptError>,
    /// Response files the gateway exposed for this submission, and where each was fetched to.
    pub response_files: Vec<ResponseFile>,
    /// Status files received for this submission, oldest first, and where each was fetched to.
    pub receipts: Vec<ReceiptFile>,
    /// When the user closed it (see [`Journal::close`]), and why.
    pub closed_at: Option<i64>,
    pub close_reason: Option<String>,
    /// True when the user chose the name (`--name`) instead of letting it be generated.
    pub name_chosen: bool,
}

/// A status file recorded for a submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptFile {
    /// Its name in `out`, e.g. `status_Manifest.AnkomstdeklarationOpret_decl-...xml_2.xml`.
    pub status_file: String,
    /// 0 error, 1 delivered, 2 accepted, 3 response exposed.
    pub code: u8,
    /// Where the poll put it (the downstream system may have moved it since).
    pub local_path: Option<PathBuf>,
    /// When it was recorded (unix milliseconds).
    pub received_at: i64,
}

/// A response file the gateway exposed for a submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResponseFile {
    /// Its name in `out`.
    pub remote_name: String,
    /// Where the poll put it, once fetched.
    pub local_path: Option<PathBuf>,
}

/// What to record for a new submission.
#[derive(Clone, Debug)]
pub struct NewSubmission {
    pub owner: String,
    pub name: String,
    pub service: String,
    pub gateway: String,
    pub local_path: Option<PathBuf>,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    /// Where the snapshot to upload from is kept (see [`Submission::spool_path`]).
    pub spool_path: Option<PathBuf>,
    /// True when the user chose the name.
    pub name_chosen: bool,
}

/// A file fetched from `out`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Download {
    pub id: i64,
    pub owner: String,
    pub gateway: String,
    pub remote_name: String,
    pub size: u64,
    pub sha256: String,
    pub local_path: PathBuf,
    pub downloaded_at: i64,
    pub deleted_remote_at: Option<i64>,
}

/// What applying a receipt did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ReceiptOutcome {
    /// It advanced (or confirmed) a known submission, now in this state.
    Applied { state: SubmissionState },
    /// A FILENAME_CANNOT_BE_REUSED status 0 for a retried upload: an earlier attempt landed.
    ReuseAfterRetryIgnored { state: SubmissionState },
    /// A FILENAME_CANNOT_BE_REUSED status 0 for a name whose one upload from this journal was accepted: the
    /// refusal of another system's upload under the same name. Not recorded; the file belongs to that system.
    OthersReuse,
    /// The journal knows no submission of that name: the receipt is kept and reported.
    UnknownName,
    /// The same status file was recorded before; `ours` when it was one of this journal's.
    AlreadyRecorded { ours: bool },
}

impl ReceiptOutcome {
    /// True when the status file belongs to one of this journal's submissions (and may be deleted in `out`).
    pub fn is_ours(&self) -> bool {
        match self {
            ReceiptOutcome::Applied { .. } | ReceiptOutcome::ReuseAfterRetryIgnored { .. } => true,
            ReceiptOutcome::AlreadyRecorded { ours } => *ours,
            ReceiptOutcome::OthersReuse | ReceiptOutcome::UnknownName => false,
        }
    }
}

/// The poll lock of a journal, held while one poll runs (see [`Journal::lock_polls`]); dropping it lets the
/// next poll in. The operating system drops it with the process, so a killed poll never leaves it stuck.
#[derive(Debug)]
pub struct PollLock {
    _file: std::fs::File,
}

/// Plain words, for people: "now Delivered", "already recorded", ...
impl std::fmt::Display for ReceiptOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiptOutcome::Applied { state } => write!(f, "now {state}"),
            ReceiptOutcome::ReuseAfterRetryIgnored { state } => {
                write!(f, "name-reuse refusal of a retry ignored (an earlier attempt landed); still {state}")
            }
            ReceiptOutcome::OthersReuse => {
                f.write_str("refusal of another system's upload under this journal's name (ours was accepted); left for it")
            }
            ReceiptOutcome::UnknownName => f.write_str("for a name this journal never sent"),
            ReceiptOutcome::AlreadyRecorded { .. } => f.write_str("already recorded"),
        }
    }
}

/// The journal. `Send` and `Sync`: one connection behind a mutex; open one per process or share it.
pub struct Journal {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Opened with [`Journal::open_read_only`]: every write is refused.
    read_only: bool,
    /// How many commits ran without waiting for the disk (see [`Journal::write_unsynced`]); read by tests,
    /// which must know which of the workflow's commits those were.
    unsynced_commits: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Unix milliseconds as RFC 3339 UTC text, for people and JSON.
pub fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

const SUBMISSION_COLUMNS: &str = "owner, name, service, gateway, local_path, size, sha256, state, attempts, \
    created_at, updated_at, upload_started_at, uploaded_at, delivered_at, accepted_at, responded_at, failed_at, \
    overdue_at, deadline_ms, skat_transaction_id, error_code, error_message, error_resolution, spool_path, \
    closed_at, close_reason, name_chosen";

impl Journal {
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite rolls back the open transaction.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.lock();
        f(&conn).map_err(|e| journal_error(&self.path, "read", e))
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so concurrent
    /// read-modify-write sequences from other processes wait instead of interleaving.
    fn write<T>(&self, what: &str, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        self.write_on(&mut conn, what, f)
    }

    /// As [`Journal::write`], but the commit does not wait for the disk (SQLite's `synchronous = NORMAL` for
    /// this one transaction). In WAL mode commits reach the file in order, so the next ordinary commit (the
    /// next name reserved, say) makes this one durable too; until then a power cut, though not a crash of the
    /// process, can undo it. Only for a fact whose loss the workflow recovers from: see
    /// [`Journal::complete_upload`].
    fn write_unsynced<T>(&self, what: &str, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| journal_error(&self.path, what, e))?;
        let result = self.write_on(&mut conn, what, f);
        if result.is_ok() {
            self.unsynced_commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        // Back to FULL before anything else is written, whatever happened.
        let restored = conn.pragma_update(None, "synchronous", "FULL").map_err(|e| journal_error(&self.path, what, e));
        let value = result?;
        restored?;
        Ok(value)
    }

    fn write_on<T>(&self, conn: &mut Connection, what: &str, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        if self.read_only {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("cannot {what} the journal {}: it was opened for reading only", self.path.display()),
            ));
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| journal_error(&self.path, what, e))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| journal_error(&self.path, what, e))?;
        Ok(value)
    }

    /// Takes this journal's poll lock: an advisory lock (`flock`) on the file `<journal>.poll-lock` beside it.
    /// Polls of one journal from any number of processes (a cron job overlapping a slow poll) then run one
    /// after the other, instead of downloading the same files at once and deleting them under each other.
    /// When another poll holds the lock, `waiting` is called once and this one waits for it to finish.
    pub fn lock_polls(&self, waiting: impl FnOnce(&Path)) -> Result<PollLock> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".poll-lock");
        let path = self.path.with_file_name(name);
        let fail = |what: &str, e: std::io::Error| {
            Error::new(
                ErrorKind::Journal,
                format!("cannot {what} the poll lock {}: {e}; check that the journal's folder is writable", path.display()),
            )
            .with_source(e)
        };
        let file = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| fail("open", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                waiting(&path);
                file.lock().map_err(|e| fail("take", e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(fail("take", e)),
        }
        Ok(PollLock { _file: file })
    }

    /// True when `owner` has used `name` before.
    pub fn name_used(&self, owner: &str, name: &str) -> Result<bool> {
        self.with_conn(|conn| {
            conn.query_row("SELECT 1 FROM names WHERE owner = ?1 AND name = ?2", params![owner, name], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
        })
    }

    /// Commits `name` as used by `owner`; fails with `FilenameReused` when it was used before.
    pub fn reserve_name(&self, owner: &str, name: &str) -> Result<()> {
        self.write("reserve a name in", |tx| insert_name(&self.path, tx, owner, name))
    }

    /// Records a new submission in state Reserved, committing its name in the same transaction.
    pub fn create_submission(&self, new: &NewSubmission) -> Result<Submission> {
        self.write("record a submission in", |tx| insert_submission(&self.path, tx, new))
    }

    /// Marks the start of an upload attempt (Reserved/Uploading -> Uploading) and counts it.
    pub fn start_upload(&self, owner: &str, name: &str) -> Result<Submission> {
        self.update(owner, name, "start an upload in", |s, now| {
            s.attempts += 1;
            s.upload_started_at = Some(now);
        })
    }

    /// Marks the upload as complete (-> Uploaded) and sets the deadline for the first status.
    pub fn finish_upload(&self, owner: &str, name: &str, deadline: Duration) -> Result<Submission> {
        self.update(owner, name, "finish an upload in", |s, now| {
            if s.uploaded_at.is_none() {
                s.uploaded_at = Some(now);
            }
            s.deadline_ms = Some(now.saturating_add(i64::try_from(deadline.as_millis()).unwrap_or(i64::MAX)));
        })
    }

    /// Records where the snapshot of a submission's file is kept (None once it is removed).
    pub fn set_spool_path(&self, owner: &str, name: &str, spool_path: Option<&Path>) -> Result<Submission> {
        self.update(owner, name, "record a spool copy in", |s, _| s.spool_path = spool_path.map(Path::to_path_buf))
    }

    /// Marks a submission as failed locally (the upload gave up), with the reason.
    pub fn fail(&self, owner: &str, name: &str, code: &str, message: &str) -> Result<Submission> {
        self.update(owner, name, "record a failure in", |s, now| {
            if s.failed_at.is_none() {
                s.failed_at = Some(now);
            }
            s.error = Some(ReceiptError { code: Some(code.into()), message: Some(message.into()), resolution: None });
        })
    }

    fn update(
        &self,
        owner: &str,
        name: &str,
        what: &str,
        change: impl FnOnce(&mut Submission, i64),
    ) -> Result<Submission> {
        self.write(what, |tx| {
            let mut s = load_submission(&self.path, tx, owner, name)?;
            let now = now_ms();
            change(&mut s, now);
            s.updated_at = now;
            s.state = derive_state(&s);
            store_submission(&self.path, tx, &s)?;
            Ok(s)
        })
    }

    /// Records a status file and advances the submission it names. Idempotent per status file.
    pub fn apply_receipt(&self, owner: &str, receipt: &Receipt, download_id: Option<i64>) -> Result<ReceiptOutcome> {
        self.write("record a receipt in", |tx| {
            let already: Option<bool> = tx
                .query_row(
                    "SELECT known FROM receipts WHERE owner = ?1 AND status_file = ?2",
                    params![owner, receipt.status_file],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| journal_error(&self.path, "read", e))?;
            if let Some(ours) = already {
                return Ok(ReceiptOutcome::AlreadyRecorded { ours });
            }
            let submission = find_submission(&self.path, tx, owner, &receipt.transaction_id)?;
            let now = now_ms();
            let mut outcome = ReceiptOutcome::UnknownName;
            let mut ignored_reuse = false;
            if let Some(mut s) = submission {
                let positive = s.delivered_at.is_some() || s.accepted_at.is_some() || s.responded_at.is_some();
                if receipt.is_filename_reused() && s.attempts > 1 {
                    // An earlier attempt under this name reached the gateway; this copy was refused.
                    ignored_reuse = true;
                } else if receipt.is_filename_reused() && positive {
                    // Our one upload was accepted: the refusal is of another system's upload (module docs).
                    outcome = ReceiptOutcome::OthersReuse;
                } else {
                    match receipt.code {
                        StatusCode::Error => {
                            if s.failed_at.is_none() {
                                s.failed_at = Some(now);
                            }
                            s.error = receipt.first_error().cloned().or(Some(ReceiptError {
                                code: None,
                                message: receipt.status_text.clone(),
                                resolution: None,
                            }));
                        }
                        StatusCode::Delivered => s.delivered_at = s.delivered_at.or(Some(now)),
                        StatusCode::Accepted => s.accepted_at = s.accepted_at.or(Some(now)),
                        StatusCode::Responded => s.responded_at = s.responded_at.or(Some(now)),
                    }
                    if receipt.code != StatusCode::Error && failed_by_reuse(&s) {
                        // The gateway accepted our upload after all: the refusal was of another system's.
                        log::warn!(
                            "{}: status {} after a FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION status 0: that refusal \
                             was of another system's upload under the same name; {} did not fail",
                            receipt.status_file,
                            receipt.code.as_digit(),
                            s.name
                        );
                        s.failed_at = None;
                        s.error = None;
                    }
                }
                if outcome != ReceiptOutcome::OthersReuse {
                    // A status means the file is at the gateway, whatever the local record says.
                    s.uploaded_at = s.uploaded_at.or(Some(now));
                    if s.skat_transaction_id.is_none() && receipt.code != StatusCode::Error {
                        s.skat_transaction_id = receipt.skat_transaction_id.clone();
                    }
                    s.updated_at = now;
                    s.state = derive_state(&s);
                    store_submission(&self.path, tx, &s)?;
                    outcome = if ignored_reuse {
                        ReceiptOutcome::ReuseAfterRetryIgnored { state: s.state }
                    } else {
                        ReceiptOutcome::Applied { state: s.state }
                    };
                }
            }
            for response in &receipt.response_files {
                tx.execute(
                    "INSERT OR IGNORE INTO response_files (owner, transaction_id, remote_name) VALUES (?1, ?2, ?3)",
                    params![owner, receipt.transaction_id, response],
                )
                .map_err(|e| journal_error(&self.path, "record a response file in", e))?;
            }
            let errors = serde_json::to_string(&receipt.errors).unwrap_or_else(|_| "[]".into());
            let responses = serde_json::to_string(&receipt.response_files).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT INTO receipts (owner, status_file, service, transaction_id, code, skat_transaction_id, timestamp,
                    status_text, errors_json, responses_json, known, ignored_reuse, received_at, download_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    owner,
                    receipt.status_file,
                    receipt.service,
                    receipt.transaction_id,
                    receipt.code.as_digit(),
                    receipt.skat_transaction_id,
                    receipt.timestamp,
                    receipt.status_text,
                    errors,
                    responses,
                    outcome.is_ours(),
                    ignored_reuse,
                    now,
                    download_id
                ],
            )
            .map_err(|e| journal_error(&self.path, "record a receipt in", e))?;
            Ok(outcome)
        })
    }

    /// Marks every submission of `owner` whose deadline has passed without status 2 as Overdue (a file stuck
    /// at status 1 counts: the gateway sends no status 0 when the backend does not process it) and returns
    /// the ones that just became overdue. A heartbeat is done at status 1.
    pub fn mark_overdue(&self, owner: &str, now: i64) -> Result<Vec<Submission>> {
        self.write("check deadlines in", |tx| {
            let names: Vec<String> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT name FROM submissions WHERE owner = ?1 AND overdue_at IS NULL AND deadline_ms IS NOT NULL
                         AND deadline_ms <= ?2 AND accepted_at IS NULL AND responded_at IS NULL AND failed_at IS NULL
                         AND closed_at IS NULL AND NOT (service = ?3 AND delivered_at IS NOT NULL)",
                    )
                    .map_err(|e| journal_error(&self.path, "read", e))?;
                let rows = stmt
                    .query_map(params![owner, now, crate::gateway::catalogue::HEARTBEAT_SERVICE], |row| row.get(0))
                    .map_err(|e| journal_error(&self.path, "read", e))?;
                rows.collect::<rusqlite::Result<_>>().map_err(|e| journal_error(&self.path, "read", e))?
            };
            let mut overdue = Vec::new();
            for name in names {
                let mut s = load_submission(&self.path, tx, owner, &name)?;
                s.overdue_at = Some(now);
                s.updated_at = now;
                s.state = derive_state(&s);
                store_submission(&self.path, tx, &s)?;
                overdue.push(s);
            }
            Ok(overdue)
        })
    }

    /// The submission `name` of `owner`.
    pub fn submission(&self, owner: &str, name: &str) -> Result<Submission> {
        let conn = self.lock();
        load_submission(&self.path, &conn, owner, name)
    }

    /// The submission `name` of `owner`, if the journal has it.
    pub fn find_submission(&self, owner: &str, name: &str) -> Result<Option<Submission>> {
        let conn = self.lock();
        find_submission(&self.path, &conn, owner, name)
    }

    /// `owner`'s submissions in any of `states`, oldest first (the state is stored with every change, so this
    /// reads only those, however long the journal's history).
    pub fn submissions_in_states(&self, owner: &str, states: &[SubmissionState]) -> Result<Vec<Submission>> {
        let list: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        self.query_submissions(&format!("WHERE owner = ?1 AND state IN ({})", list.join(", ")), params![owner])
    }

    /// True when `owner` has a submission on `gateway` (`new`, `legacy`) that still waits for something.
    pub fn has_unsettled_on(&self, owner: &str, gateway: &str) -> Result<bool> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT 1 FROM submissions WHERE owner = ?1 AND gateway = ?2
                 AND state NOT IN ('Responded', 'Failed', 'Closed') LIMIT 1",
                params![owner, gateway],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
        })
    }

    /// True when a status file of one of `owner`'s submissions named `remote_name` as its response file.
    pub fn is_response_of_ours(&self, owner: &str, remote_name: &str) -> Result<bool> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT 1 FROM response_files r JOIN submissions s ON s.owner = r.owner AND s.name = r.transaction_id
                 WHERE r.owner = ?1 AND r.remote_name = ?2 LIMIT 1",
                params![owner, remote_name],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
        })
    }

    /// Submissions named `name`, for any certificate (the CLI's `status NAME` does not need to know it).
    pub fn submissions_named(&self, name: &str) -> Result<Vec<Submission>> {
        self.query_submissions("WHERE name = ?1", params![name])
    }

    /// Every submission, optionally only one certificate's, oldest first.
    pub fn submissions(&self, owner: Option<&str>) -> Result<Vec<Submission>> {
        match owner {
            Some(owner) => self.query_submissions("WHERE owner = ?1", params![owner]),
            None => self.query_submissions("", params![]),
        }
    }

    fn query_submissions(&self, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Submission>> {
        let conn = self.lock();
        query_submissions(&self.path, &conn, filter, args)
    }

    /// Records a file fetched from `out` (after it is safely in the inbox).
    pub fn record_download(
        &self,
        owner: &str,
        gateway: &str,
        remote_name: &str,
        size: u64,
        sha256: &str,
        local_path: &Path,
    ) -> Result<Download> {
        self.write("record a download in", |tx| {
            tx.execute(
                "INSERT INTO downloads (owner, gateway, remote_name, size, sha256, local_path, downloaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (owner, gateway, remote_name) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,
                    local_path = excluded.local_path, downloaded_at = excluded.downloaded_at, deleted_remote_at = NULL",
                params![owner, gateway, remote_name, size as i64, sha256, local_path.to_string_lossy(), now_ms()],
            )
            .map_err(|e| journal_error(&self.path, "record a download in", e))?;
            find_download(&self.path, tx, owner, gateway, remote_name)?.ok_or_else(|| {
                Error::new(ErrorKind::Internal, "a download just recorded in the journal cannot be read back")
            })
        })
    }

    /// The recorded download of `remote_name`, if any.
    pub fn download(&self, owner: &str, gateway: &str, remote_name: &str) -> Result<Option<Download>> {
        let conn = self.lock();
        find_download(&self.path, &conn, owner, gateway, remote_name)
    }

    /// Every recorded download, oldest first.
    pub fn downloads(&self, owner: Option<&str>) -> Result<Vec<Download>> {
        let conn = self.lock();
        let read = |e| journal_error(&self.path, "read", e);
        let mut stmt = conn
            .prepare(
                "SELECT id, owner, gateway, remote_name, size, sha256, local_path, downloaded_at, deleted_remote_at
                 FROM downloads WHERE (?1 IS NULL OR owner = ?1) ORDER BY id",
            )
            .map_err(read)?;
        let rows = stmt.query_map(params![owner], download_from_row).map_err(read)?;
        rows.collect::<rusqlite::Result<_>>().map_err(read)
    }

    /// Notes that a downloaded file was deleted from `out`.
    pub fn mark_deleted_remote(&self, download_id: i64) -> Result<()> {
        self.write("record a remote delete in", |tx| {
            tx.execute("UPDATE downloads SET deleted_remote_at = ?1 WHERE id = ?2", params![now_ms(), download_id])
                .map_err(|e| journal_error(&self.path, "record a remote delete in", e))?;
            Ok(())
        })
    }

    /// The status file `status_file` as recorded when it arrived (its local copy may be gone by now: the
    /// inbox belongs to the downstream system, which moves files away).
    pub fn recorded_receipt(&self, owner: &str, status_file: &str) -> Result<Option<Receipt>> {
        let row = self.with_conn(|conn| {
            conn.query_row(
                "SELECT service, transaction_id, code, skat_transaction_id, timestamp, status_text, errors_json,
                        responses_json
                 FROM receipts WHERE owner = ?1 AND status_file = ?2",
                params![owner, status_file],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, Option<String>>(5)?,
                        row.get::<_, String>(6)?,
                        row.get::<_, String>(7)?,
                    ))
                },
            )
            .optional()
        })?;
        let Some((service, transaction_id, code, skat_transaction_id, timestamp, status_text, errors, responses)) = row else {
            return Ok(None);
        };
        let code = u8::try_from(code).ok().and_then(StatusCode::from_digit).ok_or_else(|| {
            Error::new(
                ErrorKind::Journal,
                format!("the journal {} holds the status code {code} for {status_file}; the file is damaged", self.path.display()),
            )
        })?;
        Ok(Some(Receipt {
            status_file: status_file.to_string(),
            service,
            transaction_id,
            code,
            skat_transaction_id,
            timestamp,
            status_text,
            remote_path: None,
            response_files: serde_json::from_str(&responses).unwrap_or_default(),
            errors: serde_json::from_str(&errors).unwrap_or_default(),
        }))
    }

    /// Status files whose name the journal did not know when they arrived: (status file, transaction id).
    pub fn unknown_receipts(&self, owner: Option<&str>) -> Result<Vec<(String, String)>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT status_file, transaction_id FROM receipts WHERE known = 0 AND (?1 IS NULL OR owner = ?1) ORDER BY id",
            )?;
            let rows = stmt.query_map(params![owner], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        })
    }
}

/// The state follows from the facts: the furthest status received wins, so out-of-order receipts never move
/// a submission backwards.
fn derive_state(s: &Submission) -> SubmissionState {
    if s.failed_at.is_some() {
        SubmissionState::Failed
    } else if s.responded_at.is_some() {
        SubmissionState::Responded
    } else if s.closed_at.is_some() {
        SubmissionState::Closed
    } else if s.accepted_at.is_some() {
        SubmissionState::Accepted
    } else if s.overdue_at.is_some() {
        SubmissionState::Overdue
    } else if s.delivered_at.is_some() {
        SubmissionState::Delivered
    } else if s.uploaded_at.is_some() {
        SubmissionState::Uploaded
    } else if s.upload_started_at.is_some() {
        SubmissionState::Uploading
    } else {
        SubmissionState::Reserved
    }
}

fn journal_error(path: &Path, what: &str, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    let code = match &e {
        rusqlite::Error::SqliteFailure(err, _) => Some(err.code),
        _ => None,
    };
    let hint = match code {
        Some(C::DatabaseBusy | C::DatabaseLocked) => {
            "another process held the journal locked for over a minute; check for a stuck skat-gateway"
        }
        Some(C::NotADatabase) => {
            "the file is not a skat-gateway journal (or it is damaged); point the configuration at the journal's \
             own file, or restore the journal from a backup"
        }
        Some(C::DatabaseCorrupt) => {
            "the journal is damaged; stop every skat-gateway using it and restore it from a backup (`sqlite3 FILE \
             .recover` may save what it holds); do not start a new one, or old files could be sent again"
        }
        Some(C::DiskFull) => "the disk holding the journal is full; free some space and run the command again",
        Some(C::ReadOnly) => "the file or its folder is read-only; fix its permissions",
        Some(C::CannotOpen | C::PermissionDenied) => "check the path and that this user may read and write the file and its folder",
        Some(C::SystemIoFailure) => {
            "the disk reported an error, most often because it is full: check the free space of the journal's file \
             system, then the disk itself"
        }
        _ => "check that the file and its folder are writable",
    };
    Error::new(ErrorKind::Journal, format!("cannot {what} the journal {}: {e}; {hint}", path.display())).with_source(e)
}

fn insert_name(path: &Path, tx: &Connection, owner: &str, name: &str) -> Result<()> {
    let inserted = tx
        .execute("INSERT OR IGNORE INTO names (owner, name, reserved_at) VALUES (?1, ?2, ?3)", params![owner, name, now_ms()])
        .map_err(|e| journal_error(path, "reserve a name in", e))?;
    if inserted == 0 {
        return Err(Error::new(
            ErrorKind::FilenameReused,
            format!(
                "the filename {name} was used before by {owner} (journal {}); the gateway accepts a name once: \
                 choose another name or leave it out to get a unique one",
                path.display()
            ),
        ));
    }
    Ok(())
}

fn submission_from_row(row: &Row<'_>) -> rusqlite::Result<Submission> {
    let state_text: String = row.get(7)?;
    let code: Option<String> = row.get(20)?;
    let message: Option<String> = row.get(21)?;
    let resolution: Option<String> = row.get(22)?;
    let error = (code.is_some() || message.is_some() || resolution.is_some())
        .then_some(ReceiptError { code, message, resolution });
    Ok(Submission {
        owner: row.get(0)?,
        name: row.get(1)?,
        service: row.get(2)?,
        gateway: row.get(3)?,
        local_path: row.get::<_, Option<String>>(4)?.map(PathBuf::from),
        size: row.get::<_, Option<i64>>(5)?.map(|s| s.max(0) as u64),
        sha256: row.get(6)?,
        state: SubmissionState::parse(&state_text).unwrap_or(SubmissionState::Reserved),
        attempts: row.get::<_, i64>(8)?.clamp(0, i64::from(u32::MAX)) as u32,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
        upload_started_at: row.get(11)?,
        uploaded_at: row.get(12)?,
        delivered_at: row.get(13)?,
        accepted_at: row.get(14)?,
        responded_at: row.get(15)?,
        failed_at: row.get(16)?,
        overdue_at: row.get(17)?,
        deadline_ms: row.get(18)?,
        skat_transaction_id: row.get(19)?,
        error,
        spool_path: row.get::<_, Option<String>>(23)?.map(PathBuf::from),
        closed_at: row.get(24)?,
        close_reason: row.get(25)?,
        name_chosen: row.get(26)?,
        response_files: Vec::new(),
        receipts: Vec::new(),
    })
}

fn attach_links(path: &Path, conn: &Connection, s: &mut Submission) -> Result<()> {
    let read = |e| journal_error(path, "read", e);
    let mut stmt = conn
        .prepare(
            "SELECT r.remote_name, d.local_path FROM response_files r
             LEFT JOIN downloads d ON d.owner = r.owner AND d.gateway = ?3 AND d.remote_name = r.remote_name
             WHERE r.owner = ?1 AND r.transaction_id = ?2 ORDER BY r.remote_name",
        )
        .map_err(read)?;
    s.response_files = stmt
        .query_map(params![s.owner, s.name, s.gateway], |row| {
            Ok(ResponseFile { remote_name: row.get(0)?, local_path: row.get::<_, Option<String>>(1)?.map(PathBuf::from) })
        })
        .map_err(read)?
        .collect::<rusqlite::Result<_>>()
        .map_err(read)?;
    let mut stmt = conn
        .prepare(
            "SELECT r.status_file, r.code, d.local_path, r.received_at FROM receipts r
             LEFT JOIN downloads d ON d.id = r.download_id
             WHERE r.owner = ?1 AND r.transaction_id = ?2 AND r.known = 1 ORDER BY r.id",
        )
        .map_err(read)?;
    s.receipts = stmt
        .query_map(params![s.owner, s.name], |row| {
            Ok(ReceiptFile {
                status_file: row.get(0)?,
                code: u8::try_from(row.get::<_, i64>(1)?).unwrap_or(u8::MAX),
                local_path: row.get::<_, Option<String>>(2)?.map(PathBuf::from),
                received_at: row.get(3)?,
            })
        })
        .map_err(read)?
        .collect::<rusqlite::Result<_>>()
        .map_err(read)?;
    Ok(())
}

fn query_submissions(path: &Path, conn: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Submission>> {
    let sql = format!("SELECT {SUBMISSION_COLUMNS} FROM submissions {filter} ORDER BY created_at, id");
    let read = |e| journal_error(path, "read", e);
    let mut stmt = conn.prepare(&sql).map_err(read)?;
    let rows = stmt.query_map(args, submission_from_row).map_err(read)?;
    let mut list: Vec<Submission> = rows.collect::<rusqlite::Result<_>>().map_err(read)?;
    for s in &mut list {
        attach_links(path, conn, s)?;
    }
    Ok(list)
}

/// Commits the name and records the submission in state Reserved (in the caller's transaction).
fn insert_submission(path: &Path, tx: &Connection, new: &NewSubmission) -> Result<Submission> {
    insert_name(path, tx, &new.owner, &new.name)?;
    let now = now_ms();
    tx.execute(
        "INSERT INTO submissions (owner, name, service, gateway, local_path, size, sha256, state, created_at, updated_at,
            spool_path, name_chosen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'Reserved', ?8, ?8, ?9, ?10)",
        params![
            new.owner,
            new.name,
            new.service,
            new.gateway,
            new.local_path.as_ref().map(|p| p.to_string_lossy().into_owned()),
            new.size.map(|s| s as i64),
            new.sha256,
            now,
            new.spool_path.as_ref().map(|p| p.to_string_lossy().into_owned()),
            new.name_chosen
        ],
    )
    .map_err(|e| journal_error(path, "record a submission in", e))?;
    load_submission(path, tx, &new.owner, &new.name)
}

/// True when the submission failed only because the gateway refused its name as used before: a failure that a
/// later positive status proves to have been another system's (see the module documentation).
fn failed_by_reuse(s: &Submission) -> bool {
    s.failed_at.is_some()
        && s.attempts <= 1
        && s.error.as_ref().and_then(|e| e.code.as_deref()).is_some_and(|c| c.eq_ignore_ascii_case(crate::gateway::receipt::FILENAME_REUSED_CODE))
}

fn find_submission(path: &Path, conn: &Connection, owner: &str, name: &str) -> Result<Option<Submission>> {
    let sql = format!("SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE owner = ?1 AND name = ?2");
    let found = conn
        .query_row(&sql, params![owner, name], submission_from_row)
        .optional()
        .map_err(|e| journal_error(path, "read", e))?;
    match found {
        Some(mut s) => {
            attach_links(path, conn, &mut s)?;
            Ok(Some(s))
        }
        None => Ok(None),
    }
}

fn load_submission(path: &Path, conn: &Connection, owner: &str, name: &str) -> Result<Submission> {
    find_submission(path, conn, owner, name)?.ok_or_else(|| {
        Error::new(
            ErrorKind::UnknownSubmission,
            format!(
                "the journal {} has no submission named {name} for {owner}; `skat-gateway status` lists the ones it has",
                path.display()
            ),
        )
    })
}

fn store_submission(path: &Path, tx: &Connection, s: &Submission) -> Result<()> {
    let error = s.error.clone().unwrap_or_default();
    tx.execute(
        "UPDATE submissions SET state = ?3, attempts = ?4, updated_at = ?5, upload_started_at = ?6, uploaded_at = ?7,
            delivered_at = ?8, accepted_at = ?9, responded_at = ?10, failed_at = ?11, overdue_at = ?12, deadline_ms = ?13,
            skat_transaction_id = ?14, error_code = ?15, error_message = ?16, error_resolution = ?17, spool_path = ?18,
            closed_at = ?19, close_reason = ?20
         WHERE owner = ?1 AND name = ?2",
        params![
            s.owner,
            s.name,
            s.state.as_str(),
            i64::from(s.attempts),
            s.updated_at,
            s.upload_started_at,
            s.uploaded_at,
            s.delivered_at,
            s.accepted_at,
            s.responded_at,
            s.failed_at,
            s.overdue_at,
            s.deadline_ms,
            s.skat_transaction_id,
            error.code,
            error.message,
            error.resolution,
            s.spool_path.as_ref().map(|p| p.to_string_lossy().into_owned()),
            s.closed_at,
            s.close_reason
        ],
    )
    .map_err(|e| journal_error(path, "update a submission in", e))?;
    Ok(())
}

fn download_from_row(row: &Row<'_>) -> rusqlite::Result<Download> {
    Ok(Download {
        id: row.get(0)?,
        owner: row.get(1)?,
        gateway: row.get(2)?,
        remote_name: row.get(3)?,
        size: row.get::<_, i64>(4)?.max(0) as u64,
        sha256: row.get(5)?,
        local_path: PathBuf::from(row.get::<_, String>(6)?),
        downloaded_at: row.get(7)?,
        deleted_remote_at: row.get(8)?,
    })
}

fn find_download(path: &Path, conn: &Connection, owner: &str, gateway: &str, remote_name: &str) -> Result<Option<Download>> {
    conn.query_row(
        "SELECT id, owner, gateway, remote_name, size, sha256, local_path, downloaded_at, deleted_remote_at
         FROM downloads WHERE owner = ?1 AND gateway = ?2 AND remote_name = ?3",
        params![owner, gateway, remote_name],
        download_from_row,
    )
    .optional()
    .map_err(|e| journal_error(path, "read", e))
}

#[cfg(test)]
mod tests {
    use super::schema::MIGRATIONS;
    use super::*;

    /// A journal written by schema 1 (before spool copies) opens as the current schema with its submissions
    /// intact.
    #[test]
    fn a_schema_1_journal_gains_the_spool_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute("INSERT INTO names (owner, name, reserved_at) VALUES ('o', 'old.xml', 1)", []).unwrap();
            conn.execute(
                "INSERT INTO submissions (owner, name, service, gateway, size, sha256, state, created_at, updated_at,
                    upload_started_at, attempts)
                 VALUES ('o', 'old.xml', 'S', 'new', 7, 'ab', 'Uploading', 1, 1, 1, 1)",
                [],
            )
            .unwrap();
        }
        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.schema_version().unwrap(), SCHEMA_VERSION);
        let old = journal.submission("o", "old.xml").unwrap();
        assert_eq!((old.state, old.size, old.spool_path), (SubmissionState::Uploading, Some(7), None));
        let spool = dir.path().join("spool/old.xml");
        let s = journal.set_spool_path("o", "old.xml", Some(&spool)).unwrap();
        assert_eq!(s.spool_path.as_deref(), Some(spool.as_path()));
        drop(journal);
        assert_eq!(Journal::open(&path).unwrap().submission("o", "old.xml").unwrap().spool_path, Some(spool));
    }

    /// The completion's commit skips the sync, and the connection is back to full syncs for everything after
    /// it (the next name reserved above all).
    #[test]
    fn only_the_completion_of_an_upload_skips_the_sync() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
        let synchronous = |j: &Journal| -> i64 { j.lock().pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap() };
        assert_eq!(synchronous(&journal), 2, "FULL");
        let request = UploadRequest {
            owner: "CVR_12345678_UID_1".into(),
            service: "Manifest.AnkomstdeklarationOpret".into(),
            gateway: "new".into(),
            local_path: None,
            size: 10,
            sha256: "cd".repeat(32),
            name: None,
            dedupe: Dedupe::Always,
            snapshot: None,
        };
        let Claim::New(claim) = journal.claim_upload(&request, &mut || "a-1.xml".to_string()).unwrap() else {
            panic!("a new claim")
        };
        let unsynced = |j: &Journal| j.unsynced_commits.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(unsynced(&journal), 0, "the name's reservation waits for the disk");
        let s = journal.complete_upload(claim, Duration::from_secs(60)).unwrap();
        assert_eq!(s.state, SubmissionState::Uploaded);
        assert_eq!(unsynced(&journal), 1, "the completion does not");
        assert_eq!(synchronous(&journal), 2, "back to FULL after the completion");
        // An upload released unfinished must stay released whatever happens to the power: a full sync.
        let other = UploadRequest { sha256: "ef".repeat(32), ..request };
        let Claim::New(claim) = journal.claim_upload(&other, &mut || "a-2.xml".to_string()).unwrap() else {
            panic!("a new claim")
        };
        journal.release_upload(claim, false).unwrap();
        assert_eq!(unsynced(&journal), 1, "the release skipped the sync");
        // What such a commit runs with, read inside its transaction through the same connection; and after
        // a failed one, FULL again too.
        let during = journal.write_unsynced("test", |tx| Ok(tx.pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0)).unwrap()));
        assert_eq!(during.unwrap(), 1, "NORMAL inside");
        let failed: Result<()> = journal.write_unsynced("test", |_| Err(Error::new(ErrorKind::Internal, "on purpose")));
        assert!(failed.is_err());
        assert_eq!(synchronous(&journal), 2);
    }
}
