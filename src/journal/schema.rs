//! The journal's file: creating it, opening it for writing or only for reading, and bringing an older schema
//! up to date.
//!
//! A journal is only ever created whole: a new one is built under a temporary name beside its path and then
//! linked into place. So a file at the journal's path that is empty or is some other SQLite database is never
//! taken for a new journal: it is a damaged or a wrong file, and starting afresh in it would forget every
//! name used and every file sent, so old declarations would go out again.

use super::{journal_error, Journal};
use crate::error::{Error, ErrorKind, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The schema this version writes. Each entry of [`MIGRATIONS`] brings a file one version further.
pub const SCHEMA_VERSION: i32 = 5;

pub(crate) const MIGRATIONS: &[&str] = &[
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
    // 3 -> 4: whether the user chose the name (--name): only a chosen name can also be used by another
    // system sharing the certificate, which decides what a FILENAME_CANNOT_BE_REUSED status 0 means.
    r#"
    ALTER TABLE submissions ADD COLUMN name_chosen INTEGER NOT NULL DEFAULT 0;
    "#,
    // 4 -> 5: what the new gateway last listed for a certificate, so that a one-file submit need not list it
    // again (see listings.rs).
    r#"
    CREATE TABLE service_listings (
        owner     TEXT NOT NULL,             -- the certificate's gateway user name
        server    TEXT NOT NULL,             -- gateway, host and port: "new secureftpgateway.skat.dk:6381"
        services  TEXT NOT NULL,             -- the service folders' names, one per line
        listed_at INTEGER NOT NULL,          -- unix milliseconds
        PRIMARY KEY (owner, server)
    );
    "#,
];


/// How long a statement waits for another process's write to finish before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

impl Journal {
    /// Opens the journal at `path` for reading and writing, creating it if there is no file there and
    /// migrating an older schema. Refuses a file that is empty, not a database, another application's
    /// database, or written by a newer skat-gateway.
    pub fn open(path: impl AsRef<Path>) -> Result<Journal> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::new(
                    ErrorKind::Journal,
                    format!("cannot create the journal's folder {}: {e}; create it or choose another journal path", parent.display()),
                )
                .with_source(e)
            })?;
        }
        if !path.exists() {
            create_whole(&path)?;
        }
        check_not_empty(&path)?;
        let fail = |what: &str, e: rusqlite::Error| journal_error(&path, what, e);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| fail("open", e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| fail("configure", e))?;
        // Before anything is written: a file that is not ours stays as it was.
        let version = schema_version(&conn).map_err(|e| fail("read", e))?;
        check_version(&path, &conn, version)?;
        // WAL lets readers work while another process writes. FULL sync: a reserved name must survive a power
        // cut, or the gateway could see it twice.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| fail("switch to WAL mode", e))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| fail("configure", e))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| fail("configure", e))?;
        let journal = Journal { path, conn: Mutex::new(conn), read_only: false, unsynced_commits: Default::default() };
        journal.migrate()?;
        Ok(journal)
    }

    /// Opens an existing journal only for reading (`skat-gateway status`): nothing is written, so a user who
    /// may only read the file (monitoring) can use it, and a wrong file is never changed. A journal of an older
    /// schema is upgraded first when the file can be written; otherwise the error says how to upgrade it.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Journal> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(Error::new(
                ErrorKind::Journal,
                format!("there is no journal at {}: nothing was submitted with it yet; check the path", path.display()),
            ));
        }
        check_not_empty(&path)?;
        let conn = open_for_reading(&path)?;
        let version = schema_version(&conn).map_err(|e| journal_error(&path, "read", e))?;
        check_version(&path, &conn, version)?;
        if version < SCHEMA_VERSION {
            drop(conn);
            return Journal::open(&path).map_err(|e| {
                e.context(format!(
                    "the journal {} was written by an older skat-gateway and must be upgraded before it can be read; \
                     run any command that writes it (e.g. `skat-gateway poll`) once as its owner",
                    path.display()
                ))
            });
        }
        Ok(Journal { path, conn: Mutex::new(conn), read_only: true, unsynced_commits: Default::default() })
    }

    /// The schema version of the file.
    pub fn schema_version(&self) -> Result<i32> {
        self.with_conn(schema_version)
    }

    fn migrate(&self) -> Result<()> {
        let path = self.path.clone();
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| journal_error(&path, "lock for migration", e))?;
        let version = schema_version(&tx).map_err(|e| journal_error(&path, "read the schema version of", e))?;
        check_version(&path, &tx, version)?;
        migrate_from(&path, &tx, version)?;
        tx.commit().map_err(|e| journal_error(&path, "migrate", e))
    }
}

fn schema_version(conn: &Connection) -> rusqlite::Result<i32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

fn migrate_from(path: &Path, conn: &Connection, version: i32) -> Result<()> {
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        conn.execute_batch(sql).map_err(|e| journal_error(path, &format!("migrate (schema {from}) of"), e))?;
        conn.pragma_update(None, "user_version", from as i32 + 1).map_err(|e| journal_error(path, "migrate", e))?;
    }
    Ok(())
}

/// Refuses files written by a newer skat-gateway, and SQLite databases that are not journals at all (schema 0
/// with tables in it: another application's file, which must not get our tables).
fn check_version(path: &Path, conn: &Connection, version: i32) -> Result<()> {
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
    if version == 0 {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .map_err(|e| journal_error(path, "read", e))?;
        let tables: Vec<String> = stmt
            .query_map([], |row| row.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| journal_error(path, "read", e))?;
        if !tables.is_empty() {
            return Err(Error::new(
                ErrorKind::Journal,
                format!(
                    "{} is an SQLite database of another application (tables {}), not a skat-gateway journal; it was \
                     left unchanged: point the configuration's `journal` at the journal's own file",
                    path.display(),
                    tables.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A journal file of zero bytes is a journal that lost its content (a truncated copy, a full disk during a
/// restore), never a new one: new journals are created whole.
fn check_not_empty(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::new(ErrorKind::Journal, format!("cannot read the journal {}: {e}; check the path and permissions", path.display()))
            .with_source(e)
    })?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::Journal,
            format!("the journal {} is not a regular file; point the configuration at the journal file", path.display()),
        ));
    }
    if meta.len() == 0 {
        return Err(Error::new(
            ErrorKind::Journal,
            format!(
                "the journal {} is empty (0 bytes): its content was lost, and starting afresh would forget every \
                 name used and every file sent, so old declarations could go out again. Restore it from a backup; \
                 only if nothing was ever submitted with it, delete it and a new journal is created",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Opens a journal read-only. In WAL mode SQLite needs the `-shm` file for that, writable; when no process has
/// the journal open that file is gone (or left read-only for this user) and a reader who may not create files in
/// the folder cannot make it, but then no writer is active either and the file can be read as it is
/// (`immutable`).
fn open_for_reading(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let configure = |conn: Connection| -> rusqlite::Result<Connection> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        schema_version(&conn)?;
        Ok(conn)
    };
    match Connection::open_with_flags(path, flags).and_then(configure) {
        Ok(conn) => Ok(conn),
        // No -shm file and no right to make one (CannotOpen), or one this user may not write and no writer has
        // set up (ReadOnly): no writer is active, so the file is read as it is.
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly) =>
        {
            let uri = format!("file:{}?immutable=1", uri_path(path));
            Connection::open_with_flags(uri, flags).and_then(configure).map_err(|e| journal_error(path, "open", e))
        }
        Err(e) => Err(journal_error(path, "open", e)),
    }
}

/// `path` as the path part of an SQLite `file:` URI (absolute, with `%`, `?` and `#` escaped).
fn uri_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    for c in absolute.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            '\\' => out.push('/'),
            c => out.push(c),
        }
    }
    out
}

/// Creates a new journal at `path`: built and migrated under a temporary name, then linked into place, so that
/// no other process ever sees a half-made one (and an empty file is never a new journal). If another process
/// created the journal meanwhile, theirs is kept.
fn create_whole(path: &Path) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "journal".into());
    let temporary = path.with_file_name(format!(".{name}.{:08x}.new", rand::random::<u32>()));
    let built = (|| -> Result<()> {
        let conn = Connection::open(&temporary).map_err(|e| journal_error(path, "create", e))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| journal_error(path, "create", e))?;
        migrate_from(path, &conn, 0)?;
        // Fold the WAL into the file here, where a failure (a full disk) is reported. Closing would do it too,
        // but silently: a half-written file would then be linked into place and read as a damaged journal.
        let (busy, wal_pages, folded): (i64, i64, i64) = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .map_err(|e| journal_error(path, "create", e))?;
        if busy != 0 || wal_pages != folded {
            return Err(Error::new(
                ErrorKind::Journal,
                format!("cannot create the journal {}: its new file could not be completed; check that the disk is not full", path.display()),
            ));
        }
        conn.close().map_err(|(_, e)| journal_error(path, "create", e))?;
        std::fs::File::open(&temporary).and_then(|f| f.sync_all()).map_err(|e| io_error(path, e))?;
        check_complete(path, &temporary)?;
        match std::fs::hard_link(&temporary, path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // File systems without hard links: a rename, unless the name was taken meanwhile.
            Err(_) if path.exists() => {}
            Err(_) => std::fs::rename(&temporary, path).map_err(|e| io_error(path, e))?,
        }
        crate::durable::sync_folder_of(path).map_err(|e| io_error(path, e))
    })();
    for leftover in [temporary.clone(), PathBuf::from(format!("{}-wal", temporary.display())), PathBuf::from(format!("{}-shm", temporary.display()))] {
        let _ = std::fs::remove_file(leftover);
    }
    built
}

/// Reads the whole new journal back before it is put in place: whatever went wrong while it was written, a
/// journal that is not complete and current never takes the name.
fn check_complete(path: &Path, temporary: &Path) -> Result<()> {
    let incomplete = |detail: String| {
        Error::new(
            ErrorKind::Journal,
            format!("cannot create the journal {}: its new file is incomplete ({detail}); check that the disk is not full", path.display()),
        )
    };
    let conn = Connection::open_with_flags(temporary, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| incomplete(e.to_string()))?;
    let verdict: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0)).map_err(|e| incomplete(e.to_string()))?;
    if verdict != "ok" {
        return Err(incomplete(verdict));
    }
    match schema_version(&conn) {
        Ok(version) if version == SCHEMA_VERSION => Ok(()),
        Ok(version) => Err(incomplete(format!("schema {version}"))),
        Err(e) => Err(incomplete(e.to_string())),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Journal,
        format!("cannot create the journal {}: {e}; check that its folder is writable and the disk is not full", path.display()),
    )
    .with_source(e)
}
