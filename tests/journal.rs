//! The journal on real SQLite files: the state machine, name reservation, and several processes and
//! threads sharing one file.

use gateway::gateway::names;
use gateway::gateway::receipt::Receipt;
use gateway::journal::{Claim, Dedupe, Journal, NewSubmission, ReceiptOutcome, SubmissionState, UploadRequest, SCHEMA_VERSION};
use gateway::ErrorKind;
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const OWNER: &str = "CVR_12345678_UID_9876543210";
const SERVICE: &str = "Manifest.AnkomstdeklarationOpret";

fn new_submission(name: &str) -> NewSubmission {
    NewSubmission {
        owner: OWNER.into(),
        name: name.into(),
        service: SERVICE.into(),
        gateway: "new".into(),
        local_path: Some("/data/decl.xml".into()),
        size: Some(1234),
        sha256: Some("ab".repeat(32)),
        spool_path: None,
        name_chosen: false,
    }
}

fn receipt(name: &str, code: u8, extra: &str) -> Receipt {
    let xml = format!(
        "<status><file><FTPTransaktionsId>{name}</FTPTransaktionsId><SKATTransactionId>skat-{name}</SKATTransactionId>\
         <service>{SERVICE}</service>{extra}</file></status>"
    );
    Receipt::parse(&format!("status_{SERVICE}_{name}_{code}.xml"), xml.as_bytes()).unwrap()
}

#[test]
fn a_submission_walks_through_every_state_and_never_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    assert_eq!(journal.schema_version().unwrap(), SCHEMA_VERSION);

    let s = journal.create_submission(&new_submission("decl-1.xml")).unwrap();
    assert_eq!(s.state, SubmissionState::Reserved);
    assert!(journal.name_used(OWNER, "decl-1.xml").unwrap());
    assert!(!journal.name_used("CVR_1_UID_2", "decl-1.xml").unwrap(), "names are per certificate");

    assert_eq!(journal.start_upload(OWNER, "decl-1.xml").unwrap().state, SubmissionState::Uploading);
    let s = journal.finish_upload(OWNER, "decl-1.xml", Duration::from_secs(3600)).unwrap();
    assert_eq!(s.state, SubmissionState::Uploaded);
    assert_eq!(s.attempts, 1);
    assert!(s.deadline_ms.unwrap() >= s.uploaded_at.unwrap() + 3_600_000);

    // Status 2 before 1: accepted, and the late 1 does not move it back.
    let out = journal.apply_receipt(OWNER, &receipt("decl-1.xml", 2, ""), None).unwrap();
    assert_eq!(out, ReceiptOutcome::Applied { state: SubmissionState::Accepted });
    let out = journal.apply_receipt(OWNER, &receipt("decl-1.xml", 1, ""), None).unwrap();
    assert_eq!(out, ReceiptOutcome::Applied { state: SubmissionState::Accepted });
    // The same status file twice is recorded once.
    assert_eq!(journal.apply_receipt(OWNER, &receipt("decl-1.xml", 1, ""), None).unwrap(), ReceiptOutcome::AlreadyRecorded { ours: true });

    let reply = "<response><filename>/CVR_1/out/reply-decl-1.xml</filename></response>";
    let out = journal.apply_receipt(OWNER, &receipt("decl-1.xml", 3, reply), None).unwrap();
    assert_eq!(out, ReceiptOutcome::Applied { state: SubmissionState::Responded });

    let s = journal.submission(OWNER, "decl-1.xml").unwrap();
    assert_eq!(s.state, SubmissionState::Responded);
    assert!(s.state.is_final());
    assert_eq!(s.skat_transaction_id.as_deref(), Some("skat-decl-1.xml"));
    let responses: Vec<&str> = s.response_files.iter().map(|r| r.remote_name.as_str()).collect();
    assert_eq!(responses, ["reply-decl-1.xml"]);
    let codes: Vec<u8> = s.receipts.iter().map(|r| r.code).collect();
    assert_eq!(codes, [2, 1, 3], "receipts in the order they came");
    assert!(s.delivered_at.is_some() && s.accepted_at.is_some() && s.responded_at.is_some());
    assert_eq!(journal.submissions_named("decl-1.xml").unwrap().len(), 1);
}

#[test]
fn a_used_name_is_refused_locally() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    journal.create_submission(&new_submission("once.xml")).unwrap();
    let err = journal.create_submission(&new_submission("once.xml")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FilenameReused);
    assert!(err.message().contains("once.xml") && err.message().contains(OWNER), "{}", err.message());
    let err = journal.reserve_name(OWNER, "once.xml").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FilenameReused);
    // The failed second attempt left the first untouched.
    assert_eq!(journal.submissions(Some(OWNER)).unwrap().len(), 1);
    // A reopened journal still knows the name.
    drop(journal);
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    assert_eq!(journal.reserve_name(OWNER, "once.xml").unwrap_err().kind(), ErrorKind::FilenameReused);
}

#[test]
fn status_0_fails_unless_it_is_reuse_after_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let reuse = "<error><error.code>FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION</error.code>\
                 <error.message>used before</error.message></error>";

    // First attempt only, no answer yet: the gateway saw the name before (another system): a failure.
    journal.create_submission(&new_submission("a.xml")).unwrap();
    journal.start_upload(OWNER, "a.xml").unwrap();
    journal.finish_upload(OWNER, "a.xml", Duration::from_secs(60)).unwrap();
    let out = journal.apply_receipt(OWNER, &receipt("a.xml", 0, reuse), None).unwrap();
    assert_eq!(out, ReceiptOutcome::Applied { state: SubmissionState::Failed });
    let s = journal.submission(OWNER, "a.xml").unwrap();
    let e = s.error.unwrap();
    assert_eq!(e.code.as_deref(), Some("FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION"));
    assert_eq!(e.message.as_deref(), Some("used before"));
    // ... unless a status 1 comes after all: the gateway accepted our upload, so the refusal was another
    // system's upload under the same name.
    journal.apply_receipt(OWNER, &receipt("a.xml", 1, ""), None).unwrap();
    let s = journal.submission(OWNER, "a.xml").unwrap();
    assert_eq!((s.state, s.error), (SubmissionState::Delivered, None));
    // Another refusal of the name now is another system's for certain: not recorded against a.xml.
    let late = Receipt::parse(
        &format!("status_{SERVICE}_a.xml_0.xml"),
        format!("<status><file><FTPTransaktionsId>a.xml</FTPTransaktionsId><service>{SERVICE}</service>{reuse}</file></status>")
            .as_bytes(),
    )
    .unwrap();
    let mut late = late;
    late.status_file = format!("status_{SERVICE}_a.xml_0b.xml");
    assert_eq!(journal.apply_receipt(OWNER, &late, None).unwrap(), ReceiptOutcome::OthersReuse);
    assert_eq!(journal.submission(OWNER, "a.xml").unwrap().state, SubmissionState::Delivered);
    assert_eq!(journal.apply_receipt(OWNER, &late, None).unwrap(), ReceiptOutcome::AlreadyRecorded { ours: false });

    // Retried under the same name: the first attempt landed, the second was refused: not a failure.
    journal.create_submission(&new_submission("b.xml")).unwrap();
    journal.start_upload(OWNER, "b.xml").unwrap();
    journal.start_upload(OWNER, "b.xml").unwrap();
    journal.finish_upload(OWNER, "b.xml", Duration::from_secs(60)).unwrap();
    let out = journal.apply_receipt(OWNER, &receipt("b.xml", 0, reuse), None).unwrap();
    assert_eq!(out, ReceiptOutcome::ReuseAfterRetryIgnored { state: SubmissionState::Uploaded });
    journal.apply_receipt(OWNER, &receipt("b.xml", 1, ""), None).unwrap();
    let s = journal.submission(OWNER, "b.xml").unwrap();
    assert_eq!((s.state, s.attempts, s.error), (SubmissionState::Delivered, 2, None));

    // Any other error fails even a retried upload.
    journal.create_submission(&new_submission("c.xml")).unwrap();
    journal.start_upload(OWNER, "c.xml").unwrap();
    journal.start_upload(OWNER, "c.xml").unwrap();
    let other = "<error><error.code>RECORD_LENGTH_INCORRECT</error.code><error.resolution>fix it</error.resolution></error>";
    journal.apply_receipt(OWNER, &receipt("c.xml", 0, other), None).unwrap();
    let s = journal.submission(OWNER, "c.xml").unwrap();
    assert_eq!(s.state, SubmissionState::Failed);
    assert_eq!(s.error.unwrap().resolution.as_deref(), Some("fix it"));
    // Such a failure is final: a late status 1 does not revive it.
    journal.apply_receipt(OWNER, &receipt("c.xml", 1, ""), None).unwrap();
    assert_eq!(journal.submission(OWNER, "c.xml").unwrap().state, SubmissionState::Failed);
}

#[test]
fn unknown_names_are_kept_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let out = journal.apply_receipt(OWNER, &receipt("stranger.xml", 1, ""), None).unwrap();
    assert_eq!(out, ReceiptOutcome::UnknownName);
    let unknown = journal.unknown_receipts(Some(OWNER)).unwrap();
    assert_eq!(unknown, [(format!("status_{SERVICE}_stranger.xml_1.xml"), "stranger.xml".to_string())]);
    assert!(journal.submissions(None).unwrap().is_empty());
}

#[test]
fn overdue_after_the_deadline_and_a_late_status_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    for name in ["slow.xml", "quick.xml", "never-uploaded.xml"] {
        journal.create_submission(&new_submission(name)).unwrap();
    }
    for name in ["slow.xml", "quick.xml"] {
        journal.start_upload(OWNER, name).unwrap();
        journal.finish_upload(OWNER, name, Duration::from_millis(1)).unwrap();
    }
    journal.apply_receipt(OWNER, &receipt("quick.xml", 2, ""), None).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let overdue = journal.mark_overdue(OWNER, gateway::journal::now_ms()).unwrap();
    let names: Vec<_> = overdue.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["slow.xml"]);
    assert_eq!(overdue[0].state, SubmissionState::Overdue);
    assert!(journal.mark_overdue(OWNER, gateway::journal::now_ms()).unwrap().is_empty(), "reported once");
    assert_eq!(journal.submission(OWNER, "never-uploaded.xml").unwrap().state, SubmissionState::Reserved);
    // A late status 1 keeps it overdue (still no acceptance); a 2 moves it on.
    journal.apply_receipt(OWNER, &receipt("slow.xml", 1, ""), None).unwrap();
    assert_eq!(journal.submission(OWNER, "slow.xml").unwrap().state, SubmissionState::Overdue);
    journal.apply_receipt(OWNER, &receipt("slow.xml", 2, ""), None).unwrap();
    assert_eq!(journal.submission(OWNER, "slow.xml").unwrap().state, SubmissionState::Accepted);
}

#[test]
fn downloads_are_recorded_once_per_remote_file() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let d = journal.record_download(OWNER, "new", "reply.xml", 10, "00ff", &dir.path().join("inbox/reply.xml")).unwrap();
    assert_eq!(d.deleted_remote_at, None);
    journal.mark_deleted_remote(d.id).unwrap();
    let again = journal.download(OWNER, "new", "reply.xml").unwrap().unwrap();
    assert_eq!(again.id, d.id);
    assert!(again.deleted_remote_at.is_some());
    assert!(journal.download(OWNER, "legacy", "reply.xml").unwrap().is_none());
    assert_eq!(journal.downloads(None).unwrap().len(), 1);
}

#[test]
fn a_newer_schema_or_a_foreign_file_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.sqlite");
    drop(Journal::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    }
    let err = Journal::open(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Journal);
    assert!(err.message().contains("newer skat-gateway") && err.message().contains("j.sqlite"), "{}", err.message());

    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, vec![b'x'; 8192]).unwrap();
    let err = Journal::open(&junk).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Journal);
    assert!(err.message().contains("junk.sqlite"), "{}", err.message());
}

#[test]
fn an_old_journal_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.sqlite");
    // Another application's database is refused and left as it was.
    let foreign = dir.path().join("app.sqlite");
    rusqlite::Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE orders (x);").unwrap();
    let before = std::fs::read(&foreign).unwrap();
    let err = Journal::open(&foreign).unwrap_err();
    assert!(err.message().contains("another application (tables orders)"), "{err}");
    assert!(std::fs::read(&foreign).unwrap() == before, "not a byte changed");
    // A schema-0 file without tables: an SQLite database as an interrupted first run of an old version left it.
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "journal_mode", "WAL").unwrap();
    let journal = Journal::open(&path).unwrap();
    assert_eq!(journal.schema_version().unwrap(), SCHEMA_VERSION);
    journal.create_submission(&new_submission("m.xml")).unwrap();
    drop(journal);
    let journal = Journal::open(&path).unwrap();
    assert_eq!(journal.submissions(None).unwrap().len(), 1);
}

const CHILD_JOURNAL: &str = "SKAT_GATEWAY_TEST_CHILD_JOURNAL";
const CHILD_TAG: &str = "SKAT_GATEWAY_TEST_CHILD_TAG";

/// Reserves 100 generated names (two threads) and tries the 100 shared names every worker races for.
fn reserve_worker(path: &Path, tag: &str) -> (Vec<String>, usize) {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|thread| {
                scope.spawn(move || {
                    let journal = Journal::open(path).unwrap();
                    let mut mine = Vec::new();
                    let mut shared_won = 0;
                    for i in 0..50 {
                        let name = names::generate(Some(&format!("{tag}-t{thread}")), Some(Path::new("d.xml")));
                        journal.create_submission(&new_submission(&name)).unwrap();
                        mine.push(name);
                        match journal.reserve_name(OWNER, &format!("shared-{i:03}.xml")) {
                            Ok(()) => shared_won += 1,
                            Err(e) => assert_eq!(e.kind(), ErrorKind::FilenameReused, "{e}"),
                        }
                    }
                    (mine, shared_won)
                })
            })
            .collect();
        workers.into_iter().fold((Vec::new(), 0), |(mut all, won), w| {
            let (names, n) = w.join().unwrap();
            all.extend(names);
            (all, won + n)
        })
    })
}

/// Run by `two_processes_share_one_journal` in a child process; does nothing on its own.
#[test]
#[ignore = "a child process of two_processes_share_one_journal"]
fn journal_child_process() {
    let (Ok(path), Ok(tag)) = (std::env::var(CHILD_JOURNAL), std::env::var(CHILD_TAG)) else { return };
    let (names, won) = reserve_worker(Path::new(&path), &tag);
    println!("SHARED-WON {won}");
    for name in names {
        println!("NAME {name}");
    }
}

#[test]
fn two_processes_share_one_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite");
    drop(Journal::open(&path).unwrap());
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["p1", "p2"]
        .iter()
        .map(|tag| {
            Command::new(&exe)
                .args(["--exact", "journal_child_process", "--ignored", "--nocapture", "--test-threads", "1"])
                .env(CHILD_JOURNAL, &path)
                .env(CHILD_TAG, tag)
                .output()
                .unwrap()
        })
        .collect::<Vec<_>>();
    // The two children above ran one after the other (output() waits); run them truly in parallel too.
    let spawned: Vec<_> = ["q1", "q2"]
        .iter()
        .map(|tag| {
            Command::new(&exe)
                .args(["--exact", "journal_child_process", "--ignored", "--nocapture", "--test-threads", "1"])
                .env(CHILD_JOURNAL, &path)
                .env(CHILD_TAG, tag)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let parallel: Vec<_> = spawned.into_iter().map(|c| c.wait_with_output().unwrap()).collect();

    let mut all = HashSet::new();
    let mut total = 0;
    let mut shared_won = 0;
    for out in children.iter().chain(parallel.iter()) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        for line in stdout.lines() {
            if let Some(name) = line.strip_prefix("NAME ") {
                total += 1;
                assert!(all.insert(name.to_string()), "{name} reserved twice");
            } else if let Some((_, n)) = line.split_once("SHARED-WON ") {
                // libtest prints its "test ... " prefix on the same line as the first output line.
                shared_won += n.trim().parse::<usize>().unwrap();
            }
        }
    }
    assert_eq!(total, 400, "each of 4 processes reserves 100 names");
    // 50 shared names, raced for by 8 threads in 4 processes: each won exactly once.
    assert_eq!(shared_won, 50);
    let journal = Journal::open(&path).unwrap();
    let recorded = journal.submissions(Some(OWNER)).unwrap();
    assert_eq!(recorded.len(), 400);
    assert!(recorded.iter().all(|s| s.state == SubmissionState::Reserved));
    for i in 0..50 {
        assert!(journal.name_used(OWNER, &format!("shared-{i:03}.xml")).unwrap());
    }
}

#[test]
fn a_schema_2_journal_gains_the_close_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.sqlite");
    {
        let journal = Journal::open(&path).unwrap();
        journal.create_submission(&new_submission("waiting.xml")).unwrap();
        journal.start_upload(OWNER, "waiting.xml").unwrap();
        journal.finish_upload(OWNER, "waiting.xml", Duration::from_secs(60)).unwrap();
    }
    // What an earlier version wrote: schema 2, without the columns of 2 -> 3 and 3 -> 4 and the table of 4 -> 5.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "ALTER TABLE submissions DROP COLUMN closed_at; ALTER TABLE submissions DROP COLUMN close_reason;
             ALTER TABLE submissions DROP COLUMN name_chosen; DROP TABLE service_listings;",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
    }
    let journal = Journal::open(&path).unwrap();
    assert_eq!(journal.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(journal.submission(OWNER, "waiting.xml").unwrap().state, SubmissionState::Uploaded);
    let closed = journal.close(OWNER, "waiting.xml", Some("asked the agency")).unwrap();
    assert_eq!(closed.state, SubmissionState::Closed);
    assert!(closed.closed_at.is_some());
    let reread = Journal::open(&path).unwrap().submission(OWNER, "waiting.xml").unwrap();
    assert_eq!((reread.state, reread.close_reason.as_deref()), (SubmissionState::Closed, Some("asked the agency")));
    // A late status 3 still wins: the answer came after all.
    journal.apply_receipt(OWNER, &receipt("waiting.xml", 3, ""), None).unwrap();
    assert_eq!(journal.submission(OWNER, "waiting.xml").unwrap().state, SubmissionState::Responded);
}

#[test]
fn a_listing_of_the_services_is_remembered_per_certificate_and_server_and_can_be_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let server = "new 127.0.0.1:6381";
    assert_eq!(journal.service_listing(OWNER, server).unwrap(), None);
    let services = [SERVICE.to_string(), "FTPSGW.Heartbeat".to_string()];
    journal.remember_service_listing(OWNER, server, &services).unwrap();
    assert_eq!(journal.service_listing(OWNER, server).unwrap().unwrap().services, services);
    // Another certificate, or another server, has its own.
    assert_eq!(journal.service_listing("CVR_87654321_UID_1", server).unwrap(), None);
    assert_eq!(journal.service_listing(OWNER, "new 127.0.0.1:16381").unwrap(), None);
    // A new listing replaces the old one, an empty one included.
    journal.remember_service_listing(OWNER, server, &[]).unwrap();
    assert!(journal.service_listing(OWNER, server).unwrap().unwrap().services.is_empty());
    journal.forget_service_listing(OWNER, server).unwrap();
    assert_eq!(journal.service_listing(OWNER, server).unwrap(), None);
}

fn request(dedupe: Dedupe, name: Option<&str>) -> UploadRequest {
    UploadRequest {
        owner: OWNER.into(),
        service: SERVICE.into(),
        gateway: "new".into(),
        local_path: None,
        size: 1234,
        sha256: "ab".repeat(32),
        name: name.map(str::to_string),
        dedupe,
        snapshot: None,
    }
}

fn claim(journal: &Journal, dedupe: Dedupe, name: Option<&str>) -> Claim {
    let mut n = 0;
    journal
        .claim_upload(&request(dedupe, name), &mut || {
            n += 1;
            format!("gen-{n}-{}.xml", names::generate(Some("x"), None))
        })
        .unwrap()
}

#[test]
fn a_closed_or_failed_submission_does_not_count_as_submitted_already() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    for name in ["c-1.xml", "f-1.xml"] {
        journal.create_submission(&new_submission(name)).unwrap();
        journal.start_upload(OWNER, name).unwrap();
        journal.finish_upload(OWNER, name, Duration::from_secs(1)).unwrap();
    }
    assert!(matches!(claim(&journal, Dedupe::Always, None), Claim::AlreadySubmitted(s) if s.name == "c-1.xml"));
    journal.close(OWNER, "c-1.xml", Some("lost")).unwrap();
    journal.fail(OWNER, "f-1.xml", "X", "refused").unwrap();
    assert!(matches!(claim(&journal, Dedupe::Always, None), Claim::New(_)));
}

/// The claim decides and locks in one step: while one claim holds an upload, another of the same content waits
/// (Busy); once it is released unfinished, the next one takes it over (Resume); once complete, it is sent.
#[test]
fn an_upload_is_claimed_by_one_holder_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let Claim::New(first) = claim(&journal, Dedupe::Always, None) else { panic!("a new submission") };
    assert_eq!((first.submission.attempts, first.submission.state), (1, SubmissionState::Uploading));
    let name = first.name().to_string();
    // A second journal handle is as another process: the lock is per open file, not per process.
    let other = Journal::open(journal.path()).unwrap();
    assert!(matches!(claim(&other, Dedupe::Always, None), Claim::Busy(s) if s.name == name));
    assert!(matches!(claim(&other, Dedupe::Always, Some(&name)), Claim::Busy(_)), "the same name, live: busy too");
    // --again does not wait for another process's copy: it sends its own.
    let Claim::New(extra) = claim(&other, Dedupe::Never, None) else { panic!("--again sends a new copy") };
    assert_ne!(extra.name(), name);
    let extra_name = extra.name().to_string();
    other.release_upload(extra, true).unwrap();
    other.close(OWNER, &extra_name, Some("test: abandoned")).unwrap();
    assert!(other.stale_uploads(OWNER).unwrap().iter().all(|s| s.name != name), "a held upload is not stale");

    journal.release_upload(first, false).unwrap();
    assert!(other.stale_uploads(OWNER).unwrap().iter().any(|s| s.name == name), "released unfinished: stale");
    let Claim::Resume(resumed) = claim(&other, Dedupe::Always, None) else { panic!("resumed") };
    assert_eq!((resumed.name(), resumed.submission.attempts), (name.as_str(), 2));
    let done = other.complete_upload(resumed, Duration::from_secs(60)).unwrap();
    assert_eq!(done.state, SubmissionState::Uploaded);
    assert!(matches!(claim(&journal, Dedupe::Always, None), Claim::AlreadySubmitted(s) if s.name == name));
    // A query is asked again once answered, not before.
    assert!(matches!(claim(&journal, Dedupe::WhileUnanswered, None), Claim::AlreadySubmitted(_)));
    journal.apply_receipt(OWNER, &receipt(&name, 3, ""), None).unwrap();
    assert!(matches!(claim(&journal, Dedupe::WhileUnanswered, None), Claim::New(_)));
}

#[test]
fn an_abandoned_upload_is_closed_never_resumed_and_its_copy_removed() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let spool = journal.spool_folder(OWNER).unwrap();
    let snapshot = spool.join(".gw-00000000000000aa.part");
    std::fs::write(&snapshot, b"old content").unwrap();
    let mut with_copy = request(Dedupe::Always, None);
    with_copy.snapshot = Some(snapshot.clone());
    let Claim::New(held) = journal.claim_upload(&with_copy, &mut || "old.xml".into()).unwrap() else { panic!() };
    let copy = held.submission.spool_path.clone().unwrap();
    assert_eq!(copy, spool.join("old.xml"));
    assert!(copy.exists() && !snapshot.exists(), "the claim moved the snapshot into place");
    let err = journal.close(OWNER, "old.xml", Some("corrected")).unwrap_err();
    assert!(err.message().contains("uploading it right now"), "{err}");
    journal.release_upload(held, false).unwrap();
    assert!(copy.exists(), "an unfinished upload keeps its copy");

    let closed = journal.close(OWNER, "old.xml", Some("corrected and sent as new.xml")).unwrap();
    assert_eq!(closed.state, SubmissionState::Closed);
    assert!(!copy.exists(), "abandoning removes the copy");
    assert!(journal.stale_uploads(OWNER).unwrap().is_empty());
    assert!(matches!(claim(&journal, Dedupe::Always, None), Claim::New(c) if c.name() != "old.xml"), "never resumed");
    // A failed submission is acknowledged, and stays Failed.
    journal.create_submission(&new_submission("bad.xml")).unwrap();
    journal.fail(OWNER, "bad.xml", "X", "refused").unwrap();
    let acknowledged = journal.close(OWNER, "bad.xml", Some("seen")).unwrap();
    assert_eq!(acknowledged.state, SubmissionState::Failed);
    assert!(acknowledged.closed_at.is_some());
}

#[cfg(unix)]
#[test]
fn the_spool_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let spool = journal.spool_folder(OWNER).unwrap();
    assert_eq!(std::fs::metadata(&spool).unwrap().permissions().mode() & 0o777, 0o700);
}
