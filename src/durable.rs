//! Local files that appear whole or not at all, and, when asked, survive a power cut once they have appeared.
//!
//! A download goes to a hidden temporary file beside its target and is renamed into place only when it is
//! complete. Until then the temporary file is removed if anything fails (or the value is dropped), so no
//! half-written file is ever left under a name a user or a script might pick up. For a download whose remote
//! copy is then deleted, the data is synced before the rename and the folder after it, so the file and its
//! name are on disk before anything depends on them.
//!
//! The sync has a price: it waits until the disk has the data, which for a large file takes longer
//! than the download itself on many machines (see `bench/BENCHMARKS.md`). A caller that keeps the remote
//! copy can choose [`Durability::Atomic`] and skip it; whoever deletes the remote copy afterwards must not.

use crate::error::{Error, ErrorKind, Result};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a finished download promises once it is in place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// The file appears whole or not at all, and stays whole if this process crashes; a power cut or an
    /// operating-system crash soon after may still lose it. As fast as curl or lftp, which promise no more.
    #[default]
    Atomic,
    /// As `Atomic`, and the data and the new name are on disk before the call returns: the remote copy can
    /// then be deleted safely.
    Synced,
}

/// A file being written under a temporary name, removed unless [`persist`](PartialFile::persist)ed.
pub(crate) struct PartialFile {
    file: File,
    temporary: PathBuf,
    synced: bool,
    persisted: bool,
}

impl PartialFile {
    /// Creates a new, hidden temporary file in the folder of `target` (the folder must exist).
    pub(crate) fn beside(target: &Path) -> Result<PartialFile> {
        Self::create_beside(target, None)
    }

    /// As [`PartialFile::beside`], readable and writable by the owner only (mode 0600 on Unix), whatever the
    /// umask: for copies of files that may be confidential.
    pub(crate) fn private_beside(target: &Path) -> Result<PartialFile> {
        Self::create_beside(target, Some(0o600))
    }

    fn create_beside(target: &Path, mode: Option<u32>) -> Result<PartialFile> {
        let name = target.file_name().ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, format!("{} is not a file name to write to", target.display()))
        })?;
        let folder = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut last_error = None;
        // A random name of fixed length, and create_new: two downloads of the same name (two threads, two
        // processes) never share a temporary file, and a target name near the file system's limit (255 bytes)
        // still gets one.
        for _ in 0..8 {
            let temporary = folder.join(format!(".gw-{:016x}.part", rand::random::<u64>()));
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            if let Some(mode) = mode {
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
            }
            #[cfg(not(unix))]
            let _ = mode;
            match options.open(&temporary) {
                Ok(file) => return Ok(PartialFile { file, temporary, synced: false, persisted: false }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    last_error = Some(e);
                    break;
                }
            }
        }
        let e = last_error.unwrap_or_else(|| io::Error::other("no free temporary name"));
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "cannot create a file in {} to write {}: {e}; check that the folder exists, is writable and has free space",
                folder.display(),
                name.to_string_lossy()
            ),
        )
        .with_source(e))
    }

    /// Renames the file to `target` (replacing a file of that name). With [`Durability::Synced`] the data is
    /// synced first and the folder after, so that after a power cut `target` is either the old file or the
    /// whole new one.
    pub(crate) fn persist(mut self, target: &Path, durability: Durability) -> Result<()> {
        if durability == Durability::Synced {
            self.sync(target)?;
        }
        fs::rename(&self.temporary, target)
            .map_err(|e| io_error("cannot move the finished file into place as", target, e))?;
        self.persisted = true;
        if durability == Durability::Synced {
            sync_folder_of(target).map_err(|e| io_error("cannot write to disk the folder entry of", target, e))?;
        }
        Ok(())
    }

    /// Like [`persist`](PartialFile::persist) with [`Durability::Synced`], but never replaces an existing file, even one that appears at
    /// the same moment: returns `Ok(false)` (and keeps the temporary file) when `target` exists.
    pub(crate) fn persist_new(&mut self, target: &Path) -> Result<bool> {
        self.sync(target)?;
        // A hard link fails atomically when the name is taken; a rename would silently replace the file.
        match fs::hard_link(&self.temporary, target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
            // File systems without hard links (FAT, some network shares): check, then rename.
            Err(_) if target.symlink_metadata().is_ok() => return Ok(false),
            Err(_) => {
                fs::rename(&self.temporary, target)
                    .map_err(|e| io_error("cannot move the finished file into place as", target, e))?;
                self.persisted = true;
                return sync_folder_of(target)
                    .map(|()| true)
                    .map_err(|e| io_error("cannot write to disk the folder entry of", target, e));
            }
        }
        // The file now has two names; dropping `self` removes the temporary one.
        sync_folder_of(target).map_err(|e| io_error("cannot write to disk the folder entry of", target, e))?;
        Ok(true)
    }

    /// Where the data is being written.
    pub(crate) fn temporary_path(&self) -> &Path {
        &self.temporary
    }

    /// Someone else moved the temporary file into place (see the journal's upload claim): it is no longer
    /// removed on drop.
    pub(crate) fn moved_away(mut self) {
        self.persisted = true;
    }

    /// Flushes the data to disk (once).
    fn sync(&mut self, target: &Path) -> Result<()> {
        if !self.synced {
            self.file.sync_all().map_err(|e| io_error("cannot write to disk the data for", target, e))?;
            self.synced = true;
        }
        Ok(())
    }
}

impl Write for PartialFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.synced = false;
        self.file.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

fn io_error(what: &str, target: &Path, e: io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{what} {}: {e}; check the folder's free space and permissions", target.display()),
    )
    .with_source(e)
}

/// A temporary file not written to for this long belongs to a process that was killed: a live download writes
/// all the time (or gives up after its read time-out, minutes at most), and a snapshot is written in seconds.
pub(crate) const ABANDONED_AGE: Duration = Duration::from_secs(3600);

/// Removes the temporary files that downloads into `folder` left behind when their process was killed: those
/// not written to for `idle` (a live download writes all the time, or fails on its read time-out). Returns
/// how many were removed. Errors are ignored: this is tidying, and the next call tries again.
pub(crate) fn remove_abandoned_partials(folder: &Path, idle: Duration) -> usize {
    let Ok(entries) = fs::read_dir(folder) else { return 0 };
    let now = SystemTime::now();
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| is_partial_name(&entry.file_name().to_string_lossy()))
        .filter(|entry| {
            let modified = entry.metadata().and_then(|m| m.modified());
            modified.is_ok_and(|m| now.duration_since(m).is_ok_and(|age| age >= idle))
        })
        .filter(|entry| fs::remove_file(entry.path()).is_ok())
        .count()
}

/// `.gw-<16 hex digits>.part`, the names [`PartialFile::beside`] gives, or `.<name>.<8 hex digits>.part`, the
/// names versions before 0.2 gave.
fn is_partial_name(name: &str) -> bool {
    let Some(stem) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".part")) else { return false };
    if let Some(random) = stem.strip_prefix("gw-") {
        if random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit()) {
            return true;
        }
    }
    let Some((target, suffix)) = stem.rsplit_once('.') else { return false };
    !target.is_empty() && suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Syncs the folder holding `path`, which makes a rename or a new name in it durable.
pub(crate) fn sync_folder_of(path: &Path) -> io::Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    sync_folder(folder)
}

#[cfg(unix)]
fn sync_folder(folder: &Path) -> io::Result<()> {
    File::open(folder)?.sync_all()
}

/// Windows cannot open a folder as a file to sync it; NTFS journals the rename itself.
#[cfg(not(unix))]
fn sync_folder(_folder: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persisted_file_replaces_the_target_and_leaves_no_temporary_file() {
        let folder = tempfile::tempdir().unwrap();
        let target = folder.path().join("receipt.xml");
        fs::write(&target, b"old").unwrap();
        let mut partial = PartialFile::beside(&target).unwrap();
        let chunk = vec![7u8; 1024 * 1024];
        for _ in 0..20 {
            partial.write_all(&chunk).unwrap();
        }
        partial.persist(&target, Durability::Synced).unwrap();
        assert_eq!(fs::metadata(&target).unwrap().len(), 20 * 1024 * 1024);
        let names: Vec<_> = fs::read_dir(folder.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("receipt.xml")]);
    }

    #[test]
    fn a_target_name_at_the_file_system_limit_still_gets_a_temporary_file() {
        let folder = tempfile::tempdir().unwrap();
        let target = folder.path().join(format!("{}.xml", "n".repeat(251)));
        let mut partial = PartialFile::beside(&target).unwrap();
        partial.write_all(b"data").unwrap();
        partial.persist(&target, Durability::Atomic).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"data");
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().unwrap();
        let partial = PartialFile::private_beside(&folder.path().join("copy")).unwrap();
        let mode = fs::metadata(partial.temporary_path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_dropped_file_is_removed_and_the_target_is_untouched() {
        let folder = tempfile::tempdir().unwrap();
        let target = folder.path().join("receipt.xml");
        fs::write(&target, b"old").unwrap();
        let mut partial = PartialFile::beside(&target).unwrap();
        partial.write_all(b"half a file").unwrap();
        drop(partial);
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(folder.path()).unwrap().count(), 1);
    }

    #[test]
    fn persist_new_never_replaces_an_existing_file() {
        let folder = tempfile::tempdir().unwrap();
        let taken = folder.path().join("r.xml");
        fs::write(&taken, b"first").unwrap();
        let mut partial = PartialFile::beside(&taken).unwrap();
        partial.write_all(b"second").unwrap();
        assert!(!partial.persist_new(&taken).unwrap());
        let free = folder.path().join("r.xml.1");
        assert!(partial.persist_new(&free).unwrap());
        drop(partial);
        assert_eq!(fs::read(&taken).unwrap(), b"first");
        assert_eq!(fs::read(&free).unwrap(), b"second");
        assert_eq!(fs::read_dir(folder.path()).unwrap().count(), 2, "the temporary file is gone");
    }

    #[test]
    fn only_abandoned_temporary_files_are_removed() {
        let folder = tempfile::tempdir().unwrap();
        let target = folder.path().join("r.xml");
        let abandoned = PartialFile::beside(&target).unwrap();
        let abandoned_path = abandoned.temporary.clone();
        std::mem::forget(abandoned); // as if its process had been killed
        let mut live = PartialFile::beside(&target).unwrap();
        live.write_all(b"still arriving").unwrap();
        let user_file = folder.path().join(".notes.part");
        fs::write(&user_file, b"not ours").unwrap();
        let old = SystemTime::now() - Duration::from_secs(7200);
        File::options().write(true).open(&abandoned_path).unwrap().set_modified(old).unwrap();
        File::options().write(true).open(&user_file).unwrap().set_modified(old).unwrap();

        assert_eq!(remove_abandoned_partials(folder.path(), Duration::from_secs(3600)), 1);
        assert!(!abandoned_path.exists());
        assert!(live.temporary.exists(), "a download still being written stays");
        assert!(user_file.exists(), "a file not named like ours stays");
    }

    #[test]
    fn a_missing_folder_is_reported_with_its_path() {
        let folder = tempfile::tempdir().unwrap();
        let target = folder.path().join("no-such-folder").join("receipt.xml");
        let error = PartialFile::beside(&target).err().expect("the folder does not exist");
        assert_eq!(error.kind(), ErrorKind::Io);
        assert!(error.to_string().contains("no-such-folder"), "{error}");
    }
}
