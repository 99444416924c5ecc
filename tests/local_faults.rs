//! Local faults through the CLI: a full disk under the inbox, under the journal and its spool, a read-only
//! inbox, and journals that are truncated, not a database, or from a newer version. Each must give a clear
//! error, lose nothing already recorded (and delete nothing in `out` that is not safely in the inbox), and let
//! the next run carry on once the cause is gone.
//!
//! Full and read-only file systems are small tmpfs mounts made here (the test command runs as root); where
//! mounting is not allowed, those cases are skipped with a message.

#![cfg(target_os = "linux")]

mod workflow_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use workflow_support::*;

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"]).arg(dir).status().is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (needs root); the full-disk cases are not checked");
            return None;
        }
        Some(Tmpfs { dir: dir.to_path_buf() })
    }

    /// Fills the file system to the last byte with a file named `filler`.
    fn fill(&self) {
        let filler = self.dir.join("filler");
        let _ = Command::new("dd").arg("if=/dev/zero").arg(format!("of={}", filler.display())).args(["bs=4k", "status=none"]).status();
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.join("filler")).unwrap();
    }

    /// Fills the file system but for about `bytes` (tmpfs counts whole pages).
    fn fill_leaving(&self, bytes: u64) {
        let _ = std::fs::remove_file(self.dir.join("filler"));
        self.fill();
        let filler = std::fs::OpenOptions::new().write(true).open(self.dir.join("filler")).unwrap();
        let len = filler.metadata().unwrap().len();
        filler.set_len(len.saturating_sub(bytes)).unwrap();
    }

    fn remount(&self, option: &str) {
        assert!(Command::new("mount").args(["-o", &format!("remount,{option}")]).arg(&self.dir).status().unwrap().success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_full_inbox_loses_and_deletes_nothing_and_the_next_poll_carries_on() {
    let setup = start();
    let config = write_config(&setup, "state");
    let Some(inbox) = Tmpfs::mount(&setup.path("inbox-fs"), "256k") else { return };
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("d.xml", 100)));
    wait_for_out(&setup, 4);
    inbox.fill();
    let out = cli(&config).args(["poll"]).env("SKAT_GATEWAY_INBOX", &inbox.dir).output().unwrap();
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(stderr(&out).contains("No space left on device") && stderr(&out).contains("free space"), "{}", stderr(&out));
    assert_eq!(setup.out().len(), 4, "nothing deleted in out that is not in the inbox");
    inbox.free();
    run(cli(&config).args(["poll"]).env("SKAT_GATEWAY_INBOX", &inbox.dir));
    assert!(setup.out().is_empty());
    assert_eq!(status_json(&config)[0]["state"], "Responded");
    let mut names = list(&inbox.dir);
    names.retain(|n| !n.starts_with(".gw-"));
    assert_eq!(names.len(), 4, "each file once: {names:?}");
}

#[test]
fn a_full_disk_under_the_journal_sends_nothing_and_the_same_command_works_later() {
    let setup = start();
    let Some(fs) = Tmpfs::mount(&setup.path("journal-fs"), "512k") else { return };
    let config = write_config(&setup, "state");
    let journal = fs.dir.join("journal.sqlite");
    let file = setup.file("d.xml", 20_000);
    // The journal exists and holds one submission; then the disk fills up.
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("first.xml", 100)).env("SKAT_GATEWAY_JOURNAL", &journal));
    fs.fill();
    let out = cli(&config).args(["submit", "-s", SERVICE]).arg(&file).env("SKAT_GATEWAY_JOURNAL", &journal).output().unwrap();
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(stderr(&out).contains("free space") || stderr(&out).contains("disk holding the journal is full"), "{}", stderr(&out));
    assert_eq!(setup.received(SERVICE).len(), 1, "nothing sent while nothing could be recorded");
    fs.free();
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(&file).env("SKAT_GATEWAY_JOURNAL", &journal));
    assert_eq!(setup.received(SERVICE).len(), 2);
    let out = run(cli(&config).args(["status", "--json", "--journal"]).arg(&journal));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 2, "the first submission is still recorded: {list:?}");
}

#[test]
fn a_journal_created_on_a_nearly_full_disk_is_whole_or_not_there() {
    let setup = start();
    let Some(fs) = Tmpfs::mount(&setup.path("new-journal-fs"), "4m") else { return };
    let config = write_config(&setup, "state");
    // From too little space for anything up to enough for the whole first submission: on the way the new
    // journal's file runs out of space while it is being completed (about 180-240 KiB free).
    let mut refused = Vec::new();
    let mut enough = None;
    for free_kib in (4..=1024).step_by(8) {
        let journal = fs.dir.join(format!("j{free_kib}")).join("journal.sqlite");
        std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
        fs.fill_leaving(free_kib * 1024);
        let file = setup.file(&format!("d{free_kib}.xml"), 100);
        let out = cli(&config).args(["submit", "-s", SERVICE]).arg(&file).env("SKAT_GATEWAY_JOURNAL", &journal).output().unwrap();
        match code(&out) {
            0 => {
                enough = Some(free_kib);
                break;
            }
            11 => {
                let message = stderr(&out);
                assert!(message.contains("full") || message.contains("No space left"), "{free_kib} KiB free: {message}");
                assert!(!message.contains("damaged"), "{free_kib} KiB free: a journal that was never made is not damaged: {message}");
                refused.push((free_kib, journal));
            }
            other => panic!("{free_kib} KiB free: exit {other}: {}", stderr(&out)),
        }
    }
    assert!(enough.is_some() && refused.len() > 1, "too little space at first, enough at last: {refused:?}");
    fs.free();
    // Once there is space, each journal the full disk stopped works: absent (made now) or whole.
    for (free_kib, journal) in &refused {
        let file = setup.file(&format!("again{free_kib}.xml"), 100);
        let out = cli(&config).args(["submit", "-s", SERVICE]).arg(&file).env("SKAT_GATEWAY_JOURNAL", journal).output().unwrap();
        assert_eq!(code(&out), 0, "{free_kib} KiB free at first, then space: {}", stderr(&out));
    }
}

#[test]
fn a_read_only_inbox_is_an_error_that_deletes_nothing() {
    let setup = start();
    let config = write_config(&setup, "state");
    let Some(inbox) = Tmpfs::mount(&setup.path("ro-fs"), "1m") else { return };
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("d.xml", 100)));
    wait_for_out(&setup, 4);
    inbox.remount("ro");
    let out = cli(&config).args(["poll"]).env("SKAT_GATEWAY_INBOX", &inbox.dir).output().unwrap();
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(stderr(&out).contains("Read-only file system"), "{}", stderr(&out));
    assert_eq!(setup.out().len(), 4);
    inbox.remount("rw");
    run(cli(&config).args(["poll"]).env("SKAT_GATEWAY_INBOX", &inbox.dir));
    assert!(setup.out().is_empty());
}

/// Damaged and foreign journals: a clear error naming the file, nothing sent, the file left as it was.
#[test]
fn damaged_or_newer_journals_are_refused_clearly_and_left_alone() {
    let setup = start();
    let config = write_config(&setup, "state");
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("a.xml", 100)));
    let good = setup.path("state/journal.sqlite");
    // Fold the WAL into the file, as a backup copy would be.
    drop(gateway::journal::Journal::open(&good).unwrap());
    let bytes = std::fs::read(&good).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", bytes[..bytes.len() / 2].to_vec(), "restore it from a backup"),
        ("garbage", vec![0x42; 16384], "not a skat-gateway journal"),
    ];
    for (label, content, advice) in cases {
        let path = setup.path(&format!("{label}.sqlite"));
        std::fs::write(&path, &content).unwrap();
        let out = cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("b.xml", 100)).env("SKAT_GATEWAY_JOURNAL", &path).output().unwrap();
        assert_eq!(code(&out), 11, "{label}: {}", stderr(&out));
        assert!(stderr(&out).contains(&path.display().to_string()) && stderr(&out).contains(advice), "{label}: {}", stderr(&out));
        assert!(std::fs::read(&path).unwrap() == content, "{label}: the file is left as it was");
    }
    let newer = setup.path("newer.sqlite");
    std::fs::write(&newer, &bytes).unwrap();
    rusqlite::Connection::open(&newer).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let out = cli(&config).args(["status", "--journal"]).arg(&newer).output().unwrap();
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(stderr(&out).contains("newer skat-gateway (schema 99"), "{}", stderr(&out));
    assert_eq!(setup.received(SERVICE).len(), 1, "nothing was sent with a damaged journal");
    // The good journal still works.
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("c.xml", 100)));
}
