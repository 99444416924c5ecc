//! Claiming an upload: the one decision, in one transaction, that makes overlapping `submit` runs of a file
//! send it once.
//!
//! Before anything is sent, [`Journal::claim_upload`] decides in a single `BEGIN IMMEDIATE` transaction whether
//! the content went to the gateway already, whether an earlier upload of it was interrupted and can be finished,
//! or whether a new submission with a new name is needed, and takes the *upload lock* of the submission it
//! settles on. The upload lock is an advisory file lock (`flock`, `LockFileEx` on Windows) on
//! `<journal>.spool/<owner>/.<name>.lock`, held for as long as the upload runs. The operating system drops it
//! with its process, so it says exactly what a heartbeat can only guess: whether a live process is uploading
//! that submission. An unfinished upload whose lock is held is never taken over; the second process waits for
//! it ([`Journal::wait_for_upload`]) and decides again once it is done, which then finds the content sent.
//!
//! Lock files are only ever tried (never waited for) inside a transaction, and removed inside one, so two
//! processes can never both believe they hold one submission's upload: whoever opens the lock file does so
//! while no other process is between its decision and its lock.
//!
//! The same folder holds the spool copies the uploads read from (see the gateway client), under the
//! submission's name: a private working area for unfinished uploads, created 0700.

use super::{derive_state, load_submission, query_submissions, store_submission, Journal, NewSubmission, Submission, SubmissionState};
use crate::error::{Error, ErrorKind, Result};
use rusqlite::params;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How far "this content was sent already" reaches when a file is submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dedupe {
    /// A declaration: content this certificate got to the gateway for the same service, and that has not
    /// failed nor been closed, is not sent again. Re-running a command after a crash is then safe.
    Always,
    /// A query (e.g. `Manifest.TolddokumentSamlingHent`): the same question is not asked again while it waits
    /// for its answer; once answered (status 3), failed or closed, it may be asked again, as queries are.
    WhileUnanswered,
    /// Send regardless (`--again`), under a new name. An interrupted upload of the same content that no live
    /// process holds is still finished rather than left behind.
    Never,
}

/// What [`Journal::claim_upload`] is asked for.
#[derive(Clone, Debug)]
pub struct UploadRequest {
    pub owner: String,
    pub service: String,
    /// `new` or `legacy`.
    pub gateway: String,
    pub local_path: Option<PathBuf>,
    pub size: u64,
    pub sha256: String,
    /// The name the user chose, if any (checked against the naming rules by the caller).
    pub name: Option<String>,
    pub dedupe: Dedupe,
    /// The snapshot the upload will read, a temporary file in the owner's spool folder; the claim moves it to
    /// its place under the submission's name. `None` for bytes held in memory.
    pub snapshot: Option<PathBuf>,
}

/// The outcome of [`Journal::claim_upload`]. A claimed upload (New or Resume) has its first attempt recorded
/// as started, and its snapshot moved to the submission's spool path.
#[derive(Debug)]
pub enum Claim {
    /// A new submission under a new name, committed to the journal, with its upload lock.
    New(UploadClaim),
    /// An interrupted upload of the same content that no live process held, taken over to be finished under
    /// its name.
    Resume(UploadClaim),
    /// The gateway has this content already, as this submission: nothing is to be sent.
    AlreadySubmitted(Submission),
    /// A live process is uploading the same content as this submission right now: wait for it
    /// ([`Journal::wait_for_upload`]) and claim again.
    Busy(Submission),
}

/// A submission whose upload this process holds. Dropping it releases the lock but leaves the lock file;
/// [`Journal::release_upload`] (or [`Journal::complete_upload`]) removes that too.
pub struct UploadClaim {
    pub submission: Submission,
    lock: File,
    lock_path: PathBuf,
}

impl std::fmt::Debug for UploadClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadClaim").field("name", &self.submission.name).field("lock", &self.lock_path).finish()
    }
}

impl UploadClaim {
    pub fn name(&self) -> &str {
        &self.submission.name
    }
}

/// The lock file of `name` in an owner's spool folder. Names never start with a dot, so it cannot be mistaken
/// for a spool copy.
fn lock_path(spool: &Path, name: &str) -> PathBuf {
    spool.join(format!(".{name}.lock"))
}

fn lock_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Journal,
        format!("cannot {what} the upload lock {}: {e}; check that the journal's folder is writable", path.display()),
    )
    .with_source(e)
}

/// Opens (creating) the lock file and tries its lock without waiting: `None` when a live process holds it.
fn try_lock(path: &Path) -> Result<Option<File>> {
    let file = private_file_options().open(path).map_err(|e| lock_error(path, "open", e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(lock_error(path, "take", e)),
    }
}

/// True when no live process holds the upload lock at `path` (a missing file is held by nobody). Only called
/// inside a transaction.
fn held_by_nobody(path: &Path) -> Result<bool> {
    match File::options().write(true).open(path) {
        Ok(file) => match file.try_lock() {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(lock_error(path, "test", e)),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(lock_error(path, "open", e)),
    }
}

fn private_file_options() -> std::fs::OpenOptions {
    let mut options = File::options();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Removes a file that may already be gone.
fn remove_if_present(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log::warn!("cannot remove {}: {e}", path.display()),
    }
}

impl Journal {
    /// The private folder beside the journal for `owner`'s unfinished uploads: their spool copies and upload
    /// locks (`<journal>.spool/<owner>/`, mode 0700). One journal may serve several certificates, whose names
    /// may coincide, hence one folder per owner.
    pub fn spool_folder(&self, owner: &str) -> Result<PathBuf> {
        let folder = self.spool_path_of(owner);
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&folder).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot create the spool folder {}: {e}; it lives beside the journal, which must be writable", folder.display()),
            )
            .with_source(e)
        })?;
        Ok(folder)
    }

    /// Where [`Journal::spool_folder`] is, without creating it.
    fn spool_path_of(&self, owner: &str) -> PathBuf {
        let file_name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "journal".into());
        let owner: String = owner.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        self.path.with_file_name(format!("{file_name}.spool")).join(owner)
    }

    /// Decides, in one transaction, what a submission of this content needs, and claims the upload it settles
    /// on (see the module documentation):
    /// 1. unless `dedupe` says otherwise, content of this certificate already sent to the service:
    ///    [`Claim::AlreadySubmitted`];
    /// 2. an interrupted upload of the same content (with a chosen name: that very name): taken over when no
    ///    live process holds it ([`Claim::Resume`]), otherwise [`Claim::Busy`];
    /// 3. otherwise a new submission under the chosen name (refused with `FilenameReused` if it was used) or a
    ///    name from `generate` (drawn again on the rare clash): [`Claim::New`].
    pub fn claim_upload(&self, request: &UploadRequest, generate: &mut dyn FnMut() -> String) -> Result<Claim> {
        let spool = self.spool_folder(&request.owner)?;
        self.write("reserve a submission in", |tx| {
            let owner = request.owner.as_str();
            let same_content = "owner = ?1 AND service = ?2 AND sha256 = ?3";
            let args = params![owner, request.service, request.sha256];
            let sent = match request.dedupe {
                Dedupe::Always => {
                    format!("WHERE {same_content} AND uploaded_at IS NOT NULL AND failed_at IS NULL AND closed_at IS NULL")
                }
                Dedupe::WhileUnanswered => format!(
                    "WHERE {same_content} AND uploaded_at IS NOT NULL AND failed_at IS NULL AND closed_at IS NULL \
                     AND responded_at IS NULL"
                ),
                Dedupe::Never => String::new(),
            };
            if !sent.is_empty() {
                if let Some(earlier) = query_submissions(&self.path, tx, &sent, args)?.into_iter().next() {
                    return Ok(Claim::AlreadySubmitted(earlier));
                }
            }
            let unfinished = format!("WHERE {same_content} AND uploaded_at IS NULL AND failed_at IS NULL AND closed_at IS NULL");
            let mut candidates = query_submissions(&self.path, tx, &unfinished, args)?;
            if let Some(name) = &request.name {
                // With a chosen name only that submission can be resumed (the same command run again).
                candidates.retain(|s| &s.name == name);
            }
            let mut busy = None;
            for candidate in candidates {
                let path = lock_path(&spool, &candidate.name);
                match try_lock(&path)? {
                    Some(lock) => {
                        let submission = self.start_claimed(tx, &spool, candidate, request)?;
                        return Ok(Claim::Resume(UploadClaim { submission, lock, lock_path: path }));
                    }
                    None => {
                        busy.get_or_insert(candidate);
                    }
                }
            }
            match busy {
                // With --again a live upload of the same content is another process's own extra copy.
                Some(live) if request.dedupe != Dedupe::Never || request.name.is_some() => return Ok(Claim::Busy(live)),
                _ => {}
            }
            let mut new = NewSubmission {
                owner: request.owner.clone(),
                name: String::new(),
                service: request.service.clone(),
                gateway: request.gateway.clone(),
                local_path: request.local_path.clone(),
                size: Some(request.size),
                sha256: Some(request.sha256.clone()),
                spool_path: None,
                name_chosen: request.name.is_some(),
            };
            let mut tries = 0;
            loop {
                tries += 1;
                new.name = request.name.clone().unwrap_or_else(&mut *generate);
                match super::insert_submission(&self.path, tx, &new) {
                    Ok(submission) => {
                        let path = lock_path(&spool, &submission.name);
                        let lock = try_lock(&path)?.ok_or_else(|| {
                            Error::new(ErrorKind::Internal, format!("the upload lock {} of a new name is held", path.display()))
                        })?;
                        let submission = self.start_claimed(tx, &spool, submission, request)?;
                        return Ok(Claim::New(UploadClaim { submission, lock, lock_path: path }));
                    }
                    // A generated name clashed (practically never): draw another.
                    Err(e) if e.kind() == ErrorKind::FilenameReused && request.name.is_none() && tries < 6 => {}
                    Err(e) if e.kind() == ErrorKind::FilenameReused && request.name.is_some() => {
                        return Err(Error::new(
                            ErrorKind::FilenameReused,
                            format!(
                                "the filename {} was used before by {owner} (journal {}); the gateway accepts a name \
                                 once: choose another name, or leave the name out to get a unique one",
                                new.name,
                                self.path.display()
                            ),
                        ));
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }

    /// Puts the snapshot in place under the submission's name (replacing, on a resumed upload, the copy an
    /// earlier run left: the hash says the content is the same) and records the first attempt as started.
    fn start_claimed(&self, tx: &rusqlite::Connection, spool: &Path, mut s: Submission, request: &UploadRequest) -> Result<Submission> {
        s.spool_path = match &request.snapshot {
            Some(snapshot) => {
                let place = spool.join(&s.name);
                std::fs::rename(snapshot, &place).map_err(|e| {
                    Error::new(
                        ErrorKind::Io,
                        format!("cannot move the snapshot of the file into the spool folder as {}: {e}", place.display()),
                    )
                    .with_source(e)
                })?;
                Some(place)
            }
            None => None,
        };
        let now = super::now_ms();
        s.attempts += 1;
        s.upload_started_at = Some(now);
        s.updated_at = now;
        s.state = derive_state(&s);
        store_submission(&self.path, tx, &s)?;
        Ok(s)
    }

    /// Waits until no process holds the upload lock of `owner`'s submission `name` (it finished, gave up or
    /// died). Call [`Journal::claim_upload`] again afterwards.
    pub fn wait_for_upload(&self, owner: &str, name: &str) -> Result<()> {
        let path = lock_path(&self.spool_folder(owner)?, name);
        let file = private_file_options().open(&path).map_err(|e| lock_error(&path, "open", e))?;
        file.lock().map_err(|e| lock_error(&path, "wait for", e))
    }

    /// True when no process holds the upload lock of `owner`'s submission `name` right now (a look, not a
    /// claim: call [`Journal::claim_upload`] to take it).
    pub fn upload_is_free(&self, owner: &str, name: &str) -> Result<bool> {
        held_by_nobody(&lock_path(&self.spool_path_of(owner), name))
    }

    /// Records the claimed upload as complete (-> Uploaded, deadline set), removes its spool copy and releases
    /// its lock, in one transaction.
    ///
    /// That commit does not wait for the disk (see `write_unsynced`): the next name reserved makes it durable,
    /// and it is off the path of every file but the last. A power cut before then leaves the submission
    /// recorded as an interrupted upload, which is safe: the same file submitted again resumes under the same
    /// name from a new snapshot (the old copy may be gone), and the gateway's FILENAME_CANNOT_BE_REUSED answer
    /// to that retry is recognised as the refusal of a retry (see the module documentation of the journal),
    /// while the receipts of the first upload arrive as ever. What must be durable before an upload, the name,
    /// is committed with a full sync in [`Journal::claim_upload`].
    pub fn complete_upload(&self, claim: UploadClaim, deadline: Duration) -> Result<Submission> {
        self.finish_claim(claim, "finish an upload in", true, true, |s, now| {
            if s.uploaded_at.is_none() {
                s.uploaded_at = Some(now);
            }
            s.deadline_ms = Some(now.saturating_add(i64::try_from(deadline.as_millis()).unwrap_or(i64::MAX)));
        })
    }

    /// Releases a claimed upload that did not complete. With `remove_copy` (the submission failed for good) the
    /// spool copy goes too; otherwise it stays for the next attempt.
    pub fn release_upload(&self, claim: UploadClaim, remove_copy: bool) -> Result<Submission> {
        self.finish_claim(claim, "release an upload in", remove_copy, false, |_, _| {})
    }

    fn finish_claim(
        &self,
        claim: UploadClaim,
        what: &str,
        remove_copy: bool,
        unsynced: bool,
        change: impl FnOnce(&mut Submission, i64),
    ) -> Result<Submission> {
        let UploadClaim { submission, lock, lock_path } = claim;
        let work = |tx: &rusqlite::Transaction<'_>| {
            let mut s = load_submission(&self.path, tx, &submission.owner, &submission.name)?;
            let now = super::now_ms();
            change(&mut s, now);
            if remove_copy {
                if let Some(copy) = s.spool_path.take() {
                    remove_if_present(&copy);
                }
            }
            s.updated_at = now;
            s.state = derive_state(&s);
            store_submission(&self.path, tx, &s)?;
            // Removed while the transaction holds the journal: see the module documentation.
            remove_if_present(&lock_path);
            drop(lock);
            Ok(s)
        };
        if unsynced {
            self.write_unsynced(what, work)
        } else {
            self.write(what, work)
        }
    }

    /// `owner`'s uploads that were interrupted and that no live process holds: unfinished, not failed, not
    /// closed, and their upload lock free. Submitting the same file again finishes one; `status NAME --close`
    /// abandons it.
    pub fn stale_uploads(&self, owner: &str) -> Result<Vec<Submission>> {
        let spool = self.spool_path_of(owner);
        let unfinished = "WHERE owner = ?1 AND uploaded_at IS NULL AND failed_at IS NULL AND closed_at IS NULL";
        if self.read_only {
            // Nothing may be written, not even a transaction's lock: a reader's view is good enough here.
            let conn = self.lock();
            let list = query_submissions(&self.path, &conn, unfinished, params![owner])?;
            let mut stale = Vec::new();
            for s in list {
                if held_by_nobody(&lock_path(&spool, &s.name))? {
                    stale.push(s);
                }
            }
            return Ok(stale);
        }
        self.write("read", |tx| {
            let mut stale = Vec::new();
            for s in query_submissions(&self.path, tx, unfinished, params![owner])? {
                if held_by_nobody(&lock_path(&spool, &s.name))? {
                    stale.push(s);
                }
            }
            Ok(stale)
        })
    }

    /// Closes `owner`'s submission `name` with an optional reason, kept in the journal:
    /// - one that waits for a status which will not come (Uploaded, Delivered, Accepted, Overdue; typically
    ///   Overdue, after asking the agency) becomes Closed: nothing more is waited for, and a late status 3 or 0
    ///   is still recorded and wins;
    /// - an upload that was interrupted and will not be finished (the file was corrected and sent under a new
    ///   name) is abandoned: Closed, its spool copy removed, never resumed; refused while a live process is
    ///   uploading it;
    /// - a Failed one is acknowledged: it stays Failed, and `poll` stops reporting it.
    pub fn close(&self, owner: &str, name: &str, reason: Option<&str>) -> Result<Submission> {
        let spool = self.spool_path_of(owner);
        self.write("close a submission in", |tx| {
            let mut s = load_submission(&self.path, tx, owner, name)?;
            let refuse = |why: String| Err(Error::new(ErrorKind::InvalidArgument, format!("{name} cannot be closed: {why}")));
            if s.closed_at.is_some() {
                return refuse(format!("it was closed already ({})", s.state));
            }
            match s.state {
                SubmissionState::Responded => return refuse("it is Responded already, nothing is waited for".into()),
                SubmissionState::Reserved | SubmissionState::Uploading => {
                    let lock = lock_path(&spool, name);
                    if !held_by_nobody(&lock)? {
                        return refuse(format!(
                            "a running skat-gateway is uploading it right now (it holds {}); let it finish, then close \
                             it if it is still wanted closed",
                            lock.display()
                        ));
                    }
                    if let Some(copy) = s.spool_path.take() {
                        remove_if_present(&copy);
                    }
                    remove_if_present(&lock);
                }
                SubmissionState::Failed
                | SubmissionState::Uploaded
                | SubmissionState::Delivered
                | SubmissionState::Accepted
                | SubmissionState::Overdue
                | SubmissionState::Closed => {}
            }
            let now = super::now_ms();
            s.closed_at = Some(now);
            s.close_reason = reason.map(str::to_string);
            s.updated_at = now;
            s.state = derive_state(&s);
            store_submission(&self.path, tx, &s)?;
            Ok(s)
        })
    }
}
