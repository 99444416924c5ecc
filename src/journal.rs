//! The journal: a SQLite file that remembers every name used, every submission and every downloaded file.
//!
//! It is what makes "exactly once" possible across restarts and crashes: a name is committed here *before*
//! its upload starts, so a crashed upload is retried under the same name (the gateway deduplicates by name)
//! and a name is never offered to the gateway twice for different files.
//!
//! Several processes and threads may share one journal file: it runs in WAL mode with a busy time-out, and
//! every read-modify-write is one `BEGIN IMMEDIATE` transaction, so two reservations of the same name cannot
//! both succeed. The schema is versioned with SQLite's `user_version`; [`Journal::open`] migrates older files
//! and refuses files written by a newer version.
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
//!   Uploaded, Delivered, Accepted, Overdue ──> Closed (by the user: nothing more is waited for; a late
//!                                                      status 3 or 0 is still recorded and wins)
//! ```
//!
//! The state is derived from the facts recorded (which status codes arrived, whether the upload finished,
//! whether the deadline passed), never stored blindly, so status files arriving out of order (a 2 before
//! its 1) never move a submission backwards. Failed is final, with one exception: a status 0
//! `FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION` for an upload that was *retried* under the same name means an
//! earlier attempt landed, so it is recorded but does not fail the submission. Overdue applies only until
//! the backend has accepted the file (status 2): after that the file is safe with the agency.

use crate::error::{Error, ErrorKind, Result};
use crate::gateway::receipt::{Receipt, ReceiptError, StatusCode};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The schema this version writes. Each entry of [`MIGRATIONS`] brings a file one version further.
pub const SCHEMA_VERSION: i32 = 3;

const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    r#"
    CREATE TABLE names (
        owner       TEXT NOT NULL,           -- the certificate's gateway user name
        name        TEXT NOT NULL,           -- the filename, which the gateway accepts once
        reserved_at INTEGER NOT NULL,        -- unix milliseconds
        PRIMARY KEY (owner, name)
    );
    CREATE TABLE submissions (
        id            INTEGER PRIMARY KEY,
        owner         TEXT NOT NULL,
        name          TEXT NOT NULL,
        service       TEXT NOT NULL,
        gateway       TEXT NOT NULL,         -- 'new' or 'legacy'
        local_path    TEXT,
        size          INTEGER,
        sha256        TEXT,
        state         TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        upload_started_at INTEGER,
        uploaded_at   INTEGER,
        delivered_at  INTEGER,
        accepted_at   INTEGER,
        responded_at  INTEGER,
        failed_at     INTEGER,
        overdue_at    INTEGER,
        deadline_ms   INTEGER,
        skat_transaction_id TEXT,
        error_code    TEXT,
        error_message TEXT,
        error_resolution TEXT,
        UNIQUE (owner, name),
        FOREIGN KEY (owner, name) REFERENCES names (owner, name)
    );
    CREATE INDEX submissions_state ON submissions (state);
    CREATE TABLE downloads (
        id           INTEGER PRIMARY KEY,
        owner        TEXT NOT NULL,
        gateway      TEXT NOT NULL,
        remote_name  TEXT NOT NULL,
        size         INTEGER NOT NULL,
        sha256       TEXT NOT NULL,
        local_path   TEXT NOT NULL,
        downloaded_at INTEGER NOT NULL,
        deleted_remote_at INTEGER,
        UNIQUE (owner, gateway, remote_name)
    );
    CREATE TABLE receipts (
        id            INTEGER PRIMARY KEY,
        owner         TEXT NOT NULL,
        status_file   TEXT NOT NULL,
        service       TEXT NOT NULL,
        transaction_id TEXT NOT NULL,        -- the uploaded filename
        code          INTEGER NOT NULL,
        skat_transaction_id TEXT,
        timestamp     TEXT,
        status_text   TEXT,
        errors_json   TEXT NOT NULL,
        responses_json TEXT NOT NULL,
        known         INTEGER NOT NULL,      -- 1 when the journal knew the name
        ignored_reuse INTEGER NOT NULL DEFAULT 0,
        received_at   INTEGER NOT NULL,
        download_id   INTEGER REFERENCES downloads (id),
        UNIQUE (owner, status_file)
    );
    CREATE INDEX receipts_transaction ON receipts (owner, transaction_id);
    CREATE TABLE response_files (
        owner          TEXT NOT NULL,
        transaction_id TEXT NOT NULL,
        remote_name    TEXT NOT NULL,
        PRIMARY KEY (owner, transaction_id, remote_name)
    );
    "#,
    // 1 -> 2: the private copy a file is uploaded from (see the client's module documentation), and a lookup
    // by content for "was this file submitted already?".
    r#"
    ALTER TABLE submissions ADD COLUMN spool_path TEXT;
    CREATE INDEX submissions_content ON submissions (owner, service, sha256);
    "#,
    // 2 -> 3: a submission the user closed (it waited for a status that will not come), and why.
    r#"
    ALTER TABLE submissions ADD COLUMN closed_at INTEGER;
    ALTER TABLE submissions ADD COLUMN close_reason TEXT;
    "#,
];

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
    /// Response files the gateway exposed for this submission (names in `out`).
    pub response_files: Vec<String>,
    /// Status files received for this submission, oldest first.
    pub receipts: Vec<String>,
    /// When the user closed it (see [`Journal::close`]), and why.
    pub closed_at: Option<i64>,
    pub close_reason: Option<String>,
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
    /// The journal knows no submission of that name: the receipt is kept and reported.
    UnknownName,
    /// The same status file was recorded before.
    AlreadyRecorded,
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
            ReceiptOutcome::UnknownName => f.write_str("for a name this journal never sent"),
            ReceiptOutcome::AlreadyRecorded => f.write_str("already recorded"),
        }
    }
}

/// The journal. `Send` and `Sync`: one connection behind a mutex; open one per process or share it.
pub struct Journal {
    path: PathBuf,
    conn: Mutex<Connection>,
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
    closed_at, close_reason";

impl Journal {
    /// Opens (creating if needed) the journal at `path`, migrating an older schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Journal> {
        let path = path.as_ref().to_path_buf();
        let fail = |what: &str, e: rusqlite::Error| journal_error(&path, what, e);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::new(
                    ErrorKind::Journal,
                    format!("cannot create the journal's folder {}: {e}; create it or choose another journal path", parent.display()),
                )
                .with_source(e)
            })?;
        }
        let conn = Connection::open(&path).map_err(|e| fail("open", e))?;
        conn.busy_timeout(Duration::from_secs(60)).map_err(|e| fail("configure", e))?;
        // WAL lets readers work while another process writes; NORMAL sync is safe in WAL (a power cut may
        // lose the last commit, never corrupt the file) -- but a reservation must survive, so keep FULL.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| fail("switch to WAL mode", e))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| fail("configure", e))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| fail("configure", e))?;
        let journal = Journal { path, conn: Mutex::new(conn) };
        journal.migrate()?;
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file.
    pub fn schema_version(&self) -> Result<i32> {
        self.with_conn(|conn| conn.pragma_query_value(None, "user_version", |row| row.get(0)))
    }

    fn migrate(&self) -> Result<()> {
        let path = self.path.clone();
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| journal_error(&path, "lock for migration", e))?;
        let version: i32 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| journal_error(&path, "read the schema version of", e))?;
        if version > SCHEMA_VERSION {
            return Err(Error::new(
                ErrorKind::Journal,
                format!(
                    "the journal {} was written by a newer skat-gateway (schema {version}, this one knows up to \
                     {SCHEMA_VERSION}); upgrade skat-gateway, or use another journal file",
                    path.display()
                ),
            ));
        }
        for (from, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(sql).map_err(|e| journal_error(&path, &format!("migrate (schema {from}) of"), e))?;
            tx.pragma_update(None, "user_version", from as i32 + 1)
                .map_err(|e| journal_error(&path, "migrate", e))?;
        }
        tx.commit().map_err(|e| journal_error(&path, "migrate", e))
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
        self.write("record a submission in", |tx| {
            insert_name(&self.path, tx, &new.owner, &new.name)?;
            let now = now_ms();
            tx.execute(
                "INSERT INTO submissions (owner, name, service, gateway, local_path, size, sha256, state, created_at, updated_at,
                    spool_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'Reserved', ?8, ?8, ?9)",
                params![
                    new.owner,
                    new.name,
                    new.service,
                    new.gateway,
                    new.local_path.as_ref().map(|p| p.to_string_lossy().into_owned()),
                    new.size.map(|s| s as i64),
                    new.sha256,
                    now,
                    new.spool_path.as_ref().map(|p| p.to_string_lossy().into_owned())
                ],
            )
            .map_err(|e| journal_error(&self.path, "record a submission in", e))?;
            load_submission(&self.path, tx, &new.owner, &new.name)
        })
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

    /// Notes that a submission's upload is alive (its `updated_at` moves on).
    pub fn touch(&self, owner: &str, name: &str) -> Result<()> {
        self.update(owner, name, "note a live upload in", |_, _| {}).map(|_| ())
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
            let already: Option<i64> = tx
                .query_row(
                    "SELECT id FROM receipts WHERE owner = ?1 AND status_file = ?2",
                    params![owner, receipt.status_file],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| journal_error(&self.path, "read", e))?;
            if already.is_some() {
                return Ok(ReceiptOutcome::AlreadyRecorded);
            }
            let submission = find_submission(&self.path, tx, owner, &receipt.transaction_id)?;
            let now = now_ms();
            let mut outcome = ReceiptOutcome::UnknownName;
            let mut ignored_reuse = false;
            if let Some(mut s) = submission {
                if receipt.code == StatusCode::Error && receipt.is_filename_reused() && (s.attempts > 1 || s.delivered_at.is_some()) {
                    // An earlier attempt under this name reached the gateway; this copy was refused.
                    ignored_reuse = true;
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
                }
                // A status means the file is at the gateway, whatever the local record says.
                s.uploaded_at = s.uploaded_at.or(Some(now));
                if s.skat_transaction_id.is_none() {
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
                    outcome != ReceiptOutcome::UnknownName,
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

    /// Closes a submission that waits for a status which will not come (typically Overdue, after asking the
    /// agency): it becomes Closed, a final state, so `poll` stops reporting it. The time and `reason` are kept.
    /// Only a submission whose file reached the gateway can be closed; one whose upload never finished is
    /// finished by submitting the same file again.
    pub fn close(&self, owner: &str, name: &str, reason: Option<&str>) -> Result<Submission> {
        self.write("close a submission in", |tx| {
            let mut s = load_submission(&self.path, tx, owner, name)?;
            let refuse = |why: String| Err(Error::new(ErrorKind::InvalidArgument, format!("{name} cannot be closed: {why}")));
            match s.state {
                SubmissionState::Responded | SubmissionState::Failed | SubmissionState::Closed => {
                    return refuse(format!("it is {} already, nothing is waited for", s.state));
                }
                SubmissionState::Reserved | SubmissionState::Uploading => {
                    return refuse("its upload never finished; submit the same file again to finish it".into());
                }
                SubmissionState::Uploaded | SubmissionState::Delivered | SubmissionState::Accepted | SubmissionState::Overdue => {}
            }
            let now = now_ms();
            s.closed_at = Some(now);
            s.close_reason = reason.map(str::to_string);
            s.updated_at = now;
            s.state = derive_state(&s);
            store_submission(&self.path, tx, &s)?;
            Ok(s)
        })
    }

    /// The submission `name` of `owner`.
    pub fn submission(&self, owner: &str, name: &str) -> Result<Submission> {
        let conn = self.lock();
        load_submission(&self.path, &conn, owner, name)
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

    /// Submissions of `owner` for `service` whose upload never finished and whose content hash is `sha256`:
    /// the ones a new `submit` of the same file should resume under their name.
    pub fn unfinished_uploads(&self, owner: &str, service: &str, sha256: &str) -> Result<Vec<Submission>> {
        self.query_submissions(
            "WHERE owner = ?1 AND service = ?2 AND sha256 = ?3 AND uploaded_at IS NULL AND failed_at IS NULL",
            params![owner, service, sha256],
        )
    }

    /// Submissions of `owner` for `service` with content `sha256` that reached the gateway and have not failed
    /// nor been closed (given up on: it may be sent again), oldest first: the gateway has this content already.
    pub fn completed_uploads(&self, owner: &str, service: &str, sha256: &str) -> Result<Vec<Submission>> {
        self.query_submissions(
            "WHERE owner = ?1 AND service = ?2 AND sha256 = ?3 AND uploaded_at IS NOT NULL AND failed_at IS NULL
             AND closed_at IS NULL",
            params![owner, service, sha256],
        )
    }

    fn query_submissions(&self, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Submission>> {
        let conn = self.lock();
        let sql = format!("SELECT {SUBMISSION_COLUMNS} FROM submissions {filter} ORDER BY created_at, id");
        let read = |e| journal_error(&self.path, "read", e);
        let mut stmt = conn.prepare(&sql).map_err(read)?;
        let rows = stmt.query_map(args, submission_from_row).map_err(read)?;
        let mut list: Vec<Submission> = rows.collect::<rusqlite::Result<_>>().map_err(read)?;
        for s in &mut list {
            attach_links(&self.path, &conn, s)?;
        }
        Ok(list)
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
    let hint = match &e {
        rusqlite::Error::SqliteFailure(err, _) if err.code == rusqlite::ErrorCode::DatabaseBusy => {
            "another process held the journal locked for over a minute; check for a stuck skat-gateway"
        }
        rusqlite::Error::SqliteFailure(err, _) if err.code == rusqlite::ErrorCode::NotADatabase => {
            "the file is not a skat-gateway journal; point the configuration at the right file"
        }
        rusqlite::Error::SqliteFailure(err, _) if err.code == rusqlite::ErrorCode::ReadOnly => {
            "the file or its folder is read-only; fix its permissions"
        }
        _ => "check that the file and its folder are writable and the disk is not full",
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
        response_files: Vec::new(),
        receipts: Vec::new(),
    })
}

fn attach_links(path: &Path, conn: &Connection, s: &mut Submission) -> Result<()> {
    let read = |e| journal_error(path, "read", e);
    let mut stmt = conn
        .prepare("SELECT remote_name FROM response_files WHERE owner = ?1 AND transaction_id = ?2 ORDER BY remote_name")
        .map_err(read)?;
    s.response_files =
        stmt.query_map(params![s.owner, s.name], |row| row.get(0)).map_err(read)?.collect::<rusqlite::Result<_>>().map_err(read)?;
    let mut stmt = conn
        .prepare("SELECT status_file FROM receipts WHERE owner = ?1 AND transaction_id = ?2 ORDER BY id")
        .map_err(read)?;
    s.receipts =
        stmt.query_map(params![s.owner, s.name], |row| row.get(0)).map_err(read)?.collect::<rusqlite::Result<_>>().map_err(read)?;
    Ok(())
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
}
