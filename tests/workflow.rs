//! The submission workflow against the simulator: names, uploads, receipts, the journal, routing, migration.

mod workflow_support;

use gateway::gateway::client::{PollOptions, SubmitOptions};
use gateway::gateway::{Event, GatewayChoice, StatusCode, Submitted};
use gateway::journal::{ReceiptOutcome, SubmissionState};
use gateway::sim::Fault;
use gateway::ErrorKind;
use std::time::Duration;
use workflow_support::*;


#[test]
fn a_submission_reaches_status_3_with_its_receipts_and_response() {
    let setup = start();
    let mut client = setup.client("state");
    let file = setup.file("ankomst.xml", 10_000);
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    client.set_event_handler(move |e| seen.lock().unwrap().push(format!("{e:?}")));

    let s = client.submit(SERVICE, &file, &SubmitOptions::default()).unwrap();
    assert_eq!(s.state, SubmissionState::Uploaded);
    assert!(s.name.starts_with("ankomst-") && s.name.ends_with(".xml"), "{}", s.name);
    assert_eq!(s.size, Some(10_000));
    assert_eq!(setup.received(SERVICE), [s.name.as_str()]);
    let received = std::fs::read(
        setup.sim.dir().join("users").join(&setup.client_files().username).join(".gateway/received").join(SERVICE).join(&s.name),
    )
    .unwrap();
    assert_eq!(received, std::fs::read(&file).unwrap(), "the gateway got the file byte for byte");

    let inbox = setup.path("inbox");
    let report = client.poll_until_settled(&inbox, &PollOptions::default(), WAIT, EVERY).unwrap();
    let s = client.journal().submission(client.username(), &s.name).unwrap();
    assert_eq!(s.state, SubmissionState::Responded, "{s:?}");
    assert_eq!(s.receipts.len(), 3, "{:?}", s.receipts);
    assert!(s.skat_transaction_id.is_some());
    assert_eq!(s.response_files.len(), 1);
    let codes: Vec<StatusCode> = report.receipts.iter().map(|r| r.receipt.code).collect();
    for code in [StatusCode::Delivered, StatusCode::Accepted, StatusCode::Responded] {
        assert!(codes.contains(&code), "{codes:?}");
    }
    // Every receipt and the response are in the inbox, where the journal says, and out is empty.
    let placed = s.receipts.iter().map(|r| (&r.status_file, &r.local_path)).chain(s.response_files.iter().map(|r| (&r.remote_name, &r.local_path)));
    for (name, local) in placed {
        assert_eq!(local.as_deref(), Some(inbox.join(name).as_path()), "{name}");
        assert!(inbox.join(name).is_file(), "{name} missing from the inbox");
    }
    assert!(setup.out().is_empty(), "out still holds {:?}", setup.out());
    let downloads = client.journal().downloads(Some(client.username())).unwrap();
    assert_eq!(downloads.len(), 4);
    assert!(downloads.iter().all(|d| d.deleted_remote_at.is_some()));
    let events = events.lock().unwrap();
    assert!(events.iter().any(|e| e.starts_with("Uploading")), "{events:?}");
    assert!(events.iter().any(|e| e.starts_with("Receipt")), "{events:?}");
}

#[test]
fn a_refused_login_says_the_user_name_came_from_the_certificate() {
    let setup = start();
    let mut config = setup.config("state");
    config.password = Some(gateway::Secret::new("not-the-password-31"));
    config.password_file = None;
    let error = gateway::gateway::Client::connect(config).expect_err("a wrong password is refused");
    assert_eq!(error.kind(), ErrorKind::Authentication, "{error}");
    assert!(error.message().contains("derived from the certificate"), "{error}");
    assert!(!error.message().contains("as given") && !error.message().contains("not-the-password-31"), "{error}");
}

#[test]
fn a_reused_name_is_refused_locally_and_by_the_gateway() {
    let setup = start();
    let mut client = setup.client("state");
    let file = setup.file("a.xml", 100);
    let named = SubmitOptions { name: Some("fixed-name-1.xml".into()), again: true, ..SubmitOptions::default() };
    client.submit(SERVICE, &file, &named).unwrap();
    // This system collects its receipts (were they left in out, the other system could not tell them from
    // the answers to its own upload of the same name).
    client.poll_until_settled(&setup.path("inbox"), &PollOptions::default(), WAIT, EVERY).unwrap();
    let err = client.submit(SERVICE, &file, &named).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FilenameReused);
    assert!(err.message().contains("fixed-name-1.xml"), "{}", err.message());
    assert_eq!(setup.received(SERVICE), ["fixed-name-1.xml"], "the second attempt never left the machine");

    let err = client.submit(SERVICE, &file, &SubmitOptions { name: Some("bad name.xml".into()), ..SubmitOptions::default() }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidFilename);

    // Another journal (another system, or the local check bypassed) sends the same name: the gateway
    // answers with status 0 FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION and the submission fails.
    let mut other = setup.client("other-state");
    let s = other.submit(SERVICE, &file, &named).unwrap();
    assert_eq!(s.attempts, 1);
    other.poll_until_settled(&setup.path("other-inbox"), &PollOptions::default(), WAIT, EVERY).unwrap();
    let s = other.journal().submission(other.username(), "fixed-name-1.xml").unwrap();
    assert_eq!(s.state, SubmissionState::Failed);
    let error = s.error.unwrap();
    assert_eq!(error.code.as_deref(), Some("FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION"));
    assert!(error.message.is_some() && error.resolution.is_some());
}

#[test]
fn a_service_the_certificate_may_not_use_fails_before_upload() {
    let setup = start_with_roles(&[SERVICE, "FTPSGW.Heartbeat"]);
    let mut client = setup.client("state");
    let services: Vec<String> = client.services().unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(services, ["FTPSGW.Heartbeat", SERVICE]);
    let file = setup.file("ics.xml", 100);
    let err = client.submit(ICS_SERVICE, &file, &SubmitOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServiceNotAvailable);
    assert!(err.message().contains(ICS_SERVICE) && err.message().contains(SERVICE), "{}", err.message());
    assert!(client.journal().submissions(None).unwrap().is_empty(), "no name was spent");
    let err = client.submit("../etc", &file, &SubmitOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

/// The key under which a client records what a gateway of the simulator listed (gateway, host and port).
fn listing_key(setup: &Setup, gateway: GatewayChoice) -> String {
    match gateway {
        GatewayChoice::New => format!("new 127.0.0.1:{}", setup.sim.port()),
        GatewayChoice::Legacy => format!("legacy 127.0.0.1:{}", setup.sim.legacy_port().unwrap()),
    }
}

/// What the gateway would have listed while the certificate still held the ICS role (which `start_with_roles`
/// leaves out): recorded by tests as an out-of-date listing.
fn listing_with_the_ics_role() -> [String; 3] {
    ["FTPSGW.Heartbeat", SERVICE, ICS_SERVICE].map(String::from)
}

#[test]
fn the_next_process_submits_on_the_remembered_listing_of_the_services() {
    let setup = start();
    let mut first = setup.client("state");
    first.submit(SERVICE, &setup.file("a.xml", 100), &SubmitOptions::default()).unwrap();
    let owner = first.username().to_string();
    let key = listing_key(&setup, GatewayChoice::New);
    let recorded = first.journal().service_listing(&owner, &key).unwrap().expect("the listing is recorded");
    assert!(recorded.services.iter().any(|s| s == SERVICE), "{recorded:?}");
    drop(first);
    std::thread::sleep(Duration::from_millis(5));

    // Another process (a new client on the same journal) trusts it: the gateway is not listed again.
    let mut second = setup.client("state");
    let b = second.submit(SERVICE, &setup.file("b.xml", 100), &SubmitOptions::default()).unwrap();
    assert_eq!(second.journal().service_listing(&owner, &key).unwrap().unwrap(), recorded, "listed again");
    assert!(setup.received(SERVICE).contains(&b.name));

    // A service the recorded listing lacks is looked up afresh (a role granted since works at once).
    second.journal().remember_service_listing(&owner, &key, &["FTPSGW.Heartbeat".to_string()]).unwrap();
    let mut third = setup.client("state");
    let c = third.submit(SERVICE, &setup.file("c.xml", 100), &SubmitOptions::default()).unwrap();
    let relisted = third.journal().service_listing(&owner, &key).unwrap().unwrap();
    assert_eq!(relisted.services, recorded.services);
    assert!(setup.received(SERVICE).contains(&c.name));

    // A listing older than an hour is not trusted.
    let hour_ago = relisted.listed_at - 3_600_001;
    rusqlite::Connection::open(&third.config().journal)
        .unwrap()
        .execute("UPDATE service_listings SET listed_at = ?1", [hour_ago])
        .unwrap();
    let mut fourth = setup.client("state");
    fourth.submit(SERVICE, &setup.file("d.xml", 100), &SubmitOptions::default()).unwrap();
    assert!(fourth.journal().service_listing(&owner, &key).unwrap().unwrap().listed_at > hour_ago, "not listed again");
    assert_eq!(setup.received(SERVICE).len(), 4);
}

#[test]
fn the_legacy_gateway_is_listed_before_each_submit_whatever_the_journal_holds() {
    // The legacy gateway takes an upload for a service the certificate lacks and answers it with a status 0
    // later, so no record may stand in for its listing.
    let setup = start_with_roles(&[SERVICE, "FTPSGW.Heartbeat"]);
    let mut config = setup.config("state");
    config.routes = vec![("Summarisk*".into(), GatewayChoice::Legacy)];
    let mut client = gateway::gateway::Client::connect(config).unwrap();
    let owner = client.username().to_string();
    let then = listing_with_the_ics_role();
    for gateway in [GatewayChoice::Legacy, GatewayChoice::New] {
        client.journal().remember_service_listing(&owner, &listing_key(&setup, gateway), &then).unwrap();
    }
    let err = client.submit(ICS_SERVICE, &setup.file("ics.xml", 100), &SubmitOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServiceNotAvailable, "{err}");
    assert!(err.message().contains("legacy"), "{}", err.message());
    assert!(setup.received_legacy(ICS_SERVICE).is_empty());
    assert!(client.journal().submissions(None).unwrap().is_empty(), "no name was spent");
}

#[test]
fn a_service_taken_away_since_the_remembered_listing_is_reported_as_not_available() {
    let setup = start_with_roles(&[SERVICE, "FTPSGW.Heartbeat"]);
    let mut client = setup.client("state");
    let owner = client.username().to_string();
    let key = listing_key(&setup, GatewayChoice::New);
    // As if the certificate had held the ICS role when the gateway was last listed, and lost it since.
    let then = listing_with_the_ics_role();
    client.journal().remember_service_listing(&owner, &key, &then).unwrap();

    let err = client.submit(ICS_SERVICE, &setup.file("ics.xml", 100), &SubmitOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServiceNotAvailable, "{err}");
    assert!(err.message().contains(ICS_SERVICE) && err.message().contains("may not use"), "{}", err.message());
    assert!(setup.received(ICS_SERVICE).is_empty());
    // The out-of-date listing is replaced by the gateway's own.
    let now = client.journal().service_listing(&owner, &key).unwrap().unwrap();
    assert_eq!(now.services, ["FTPSGW.Heartbeat", SERVICE]);
    // The name spent locally is recorded as failed, which does not block the same file once the role is back.
    let failed = client.journal().submissions(None).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].state, SubmissionState::Failed);
    assert_eq!(failed[0].error.as_ref().and_then(|e| e.code.as_deref()), Some("ServiceNotAvailable"), "{:?}", failed[0]);

    // A name the user chose is never spent on a remembered listing: the gateway is listed first.
    client.journal().remember_service_listing(&owner, &key, &then).unwrap();
    let named = SubmitOptions { name: Some("chosen-name-7.xml".into()), ..SubmitOptions::default() };
    let err = client.submit(ICS_SERVICE, &setup.file("ics2.xml", 100), &named).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServiceNotAvailable, "{err}");
    assert!(!client.journal().name_used(&owner, "chosen-name-7.xml").unwrap(), "the chosen name was spent");
}

#[test]
fn a_parallel_submit_looks_at_the_services_once_and_spends_no_name_on_a_stale_record() {
    let setup = start_with_roles(&[SERVICE, "FTPSGW.Heartbeat"]);
    let mut config = setup.config("state");
    config.sessions = 4;
    let mut client = gateway::gateway::Client::connect(config).unwrap();
    let owner = client.username().to_string();
    let then = listing_with_the_ics_role();
    client.journal().remember_service_listing(&owner, &listing_key(&setup, GatewayChoice::New), &then).unwrap();
    let files: Vec<_> = (0..16).map(|i| setup.file(&format!("ics{i}.xml"), 100)).collect();
    let results = client.submit_files(ICS_SERVICE, &files, &SubmitOptions::default());
    assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e.kind() == ErrorKind::ServiceNotAvailable)), "{results:?}");
    assert!(client.journal().submissions(None).unwrap().is_empty(), "names were spent");
}

#[test]
fn an_interrupted_upload_is_not_failed_on_a_remembered_listing() {
    let setup = start_with_roles(&[SERVICE, "FTPSGW.Heartbeat"]);
    let mut config = setup.config("state");
    config.upload_attempts = 1;
    let mut client = gateway::gateway::Client::connect(config).unwrap();
    let owner = client.username().to_string();
    let key = listing_key(&setup, GatewayChoice::New);
    let then = listing_with_the_ics_role();
    let file = setup.file("ics.xml", 100);
    // An upload on the record's word that the network interrupted: it stays unfinished, under its name.
    client.journal().remember_service_listing(&owner, &key, &then).unwrap();
    setup.sim.inject(Fault::RefusePassive, None);
    client.submit(ICS_SERVICE, &file, &SubmitOptions::default()).unwrap_err();
    setup.sim.clear_faults();
    let interrupted = client.journal().submissions(None).unwrap();
    assert_eq!(interrupted.len(), 1);
    assert!(interrupted[0].state.is_unfinished_upload(), "{:?}", interrupted[0]);

    // Submitted again, it would resume under that name: the gateway is listed first, and since the service is
    // gone it stays unfinished (not failed), its copy kept, so nothing is sent twice later.
    client.journal().remember_service_listing(&owner, &key, &then).unwrap();
    let mut again = setup.client("state");
    let err = again.submit(ICS_SERVICE, &file, &SubmitOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServiceNotAvailable, "{err}");
    let after = again.journal().submission(&owner, &interrupted[0].name).unwrap();
    assert!(after.state.is_unfinished_upload(), "{after:?}");
    assert!(after.spool_path.as_ref().is_some_and(|p| p.is_file()), "the copy was kept: {after:?}");
    assert!(setup.received(ICS_SERVICE).is_empty());
}

#[test]
fn a_status_file_for_an_unknown_name_is_kept_and_reported() {
    let setup = start();
    let mut client = setup.client("state");
    let out = setup.sim.out_dir(&setup.client_files().username);
    let name = format!("status_{SERVICE}_someone-else.xml_1.xml");
    let xml = format!(
        "<status><file><FTPTransaktionsId>someone-else.xml</FTPTransaktionsId><service>{SERVICE}</service></file></status>"
    );
    std::fs::write(out.join(&name), xml).unwrap();
    std::fs::write(out.join("status_garbage_x_1.xml"), "not xml at all <").unwrap();
    let inbox = setup.path("inbox");
    let report = client.poll(&inbox, &PollOptions::default()).unwrap();
    assert_eq!(report.unknown.len(), 1);
    assert_eq!(report.unknown[0].receipt.transaction_id, "someone-else.xml");
    assert_eq!(report.unknown[0].outcome, ReceiptOutcome::UnknownName);
    assert_eq!(report.invalid.len(), 1);
    assert!(inbox.join(&name).is_file() && inbox.join("status_garbage_x_1.xml").is_file());
    assert_eq!(setup.out(), [name.clone(), "status_garbage_x_1.xml".to_string()], "kept for whoever sent it");
    let unknown = client.journal().unknown_receipts(None).unwrap();
    assert_eq!(unknown.len(), 1);
    // Polling again duplicates nothing.
    let again = client.poll(&inbox, &PollOptions::default()).unwrap();
    assert!(again.files.iter().all(|f| !f.new));
    assert_eq!(list(&inbox).len(), 2);
}

#[test]
fn a_submission_without_status_becomes_overdue_and_recovers() {
    let setup = start();
    let mut config = setup.config("state");
    let deadline = Duration::from_secs(2);
    config.deadline = deadline;
    let mut client = gateway::gateway::Client::connect(config).unwrap();
    setup.sim.set_backend_available(false);
    let s = client.submit(SERVICE, &setup.file("slow.xml", 100), &SubmitOptions::default()).unwrap();
    let uploaded = std::time::Instant::now();
    let inbox = setup.path("inbox");
    let report = client.poll(&inbox, &PollOptions::default()).unwrap();
    if uploaded.elapsed() < deadline {
        assert!(report.overdue.is_empty(), "overdue before its deadline");
    }
    std::thread::sleep(deadline.saturating_sub(uploaded.elapsed()) + Duration::from_millis(100));
    let report = client.poll(&inbox, &PollOptions::default()).unwrap();
    let overdue = client.journal().submissions(None).unwrap().into_iter().filter(|s| s.state == SubmissionState::Overdue).count();
    assert_eq!(overdue, 1, "{:?}", report.overdue);
    assert_eq!(client.journal().submission(client.username(), &s.name).unwrap().state, SubmissionState::Overdue);
    setup.sim.set_backend_available(true);
    client.poll_until_settled(&inbox, &PollOptions::default(), WAIT, EVERY).unwrap();
    assert_eq!(client.journal().submission(client.username(), &s.name).unwrap().state, SubmissionState::Responded);
}

#[test]
fn routes_send_services_to_the_legacy_or_the_new_gateway() {
    let setup = start();
    let mut config = setup.config("state");
    config.routes = vec![("Manifest.*".into(), GatewayChoice::Legacy)];
    let mut client = gateway::gateway::Client::connect(config).unwrap();
    let manifest = client.submit(SERVICE, &setup.file("m.xml", 100), &SubmitOptions::default()).unwrap();
    let ics = client.submit(ICS_SERVICE, &setup.file("i.xml", 100), &SubmitOptions::default()).unwrap();
    assert_eq!(manifest.gateway, "legacy");
    assert_eq!(ics.gateway, "new");
    assert_eq!(setup.received_legacy(SERVICE), [manifest.name.as_str()]);
    assert!(setup.received(SERVICE).is_empty());
    assert_eq!(setup.received(ICS_SERVICE), [ics.name.as_str()]);
    client.poll_until_settled(&setup.path("inbox"), &PollOptions::default(), WAIT, EVERY).unwrap();
    for name in [&manifest.name, &ics.name] {
        assert_eq!(client.journal().submission(client.username(), name).unwrap().state, SubmissionState::Responded);
    }
}

#[test]
fn the_new_password_is_fetched_from_the_legacy_gateway() {
    let setup = start();
    let mut config = setup.config("state");
    config.password_file = None; // not known yet: that is the point of the migration
    let mut client = gateway::gateway::Client::offline(config).unwrap();
    let password = client.fetch_login_info().unwrap();
    assert_eq!(password.expose(), setup.client_files().gateway_password().expose());
    assert!(!format!("{password:?}").contains(password.expose()));
    // Without a password the new gateway cannot be used, and the error says how to get one.
    let err = client.services_on(GatewayChoice::New).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("login-info"), "{}", err.message());
}

#[test]
fn an_upload_cut_off_is_retried_under_the_same_name_and_lands_once() {
    let setup = start();
    let mut client = setup.client("state");
    let file = setup.file("big.xml", 3 * 1024 * 1024);
    setup.sim.inject(Fault::DropDataAfter(512 * 1024), Some(1));
    let s = client.submit(SERVICE, &file, &SubmitOptions::default()).unwrap();
    assert_eq!(s.attempts, 2, "{s:?}");
    assert_eq!(setup.received(SERVICE), [s.name.as_str()]);
    client.poll_until_settled(&setup.path("inbox"), &PollOptions::default(), WAIT, EVERY).unwrap();
    let s = client.journal().submission(client.username(), &s.name).unwrap();
    assert_eq!(s.state, SubmissionState::Responded, "{s:?}");
}

#[test]
fn a_poll_interrupted_before_the_delete_loses_and_duplicates_nothing() {
    let setup = start();
    let mut client = setup.client("state");
    let s = client.submit(SERVICE, &setup.file("p.xml", 100), &SubmitOptions::default()).unwrap();
    let inbox = setup.path("inbox");
    // Wait until all four files are in out, then fetch without deleting: the state a poll leaves when the
    // connection drops after the downloads and before the deletes.
    let start = std::time::Instant::now();
    while setup.out().len() < 4 && start.elapsed() < WAIT {
        std::thread::sleep(EVERY);
    }
    let first = client.poll(&inbox, &PollOptions { keep_remote: true, ..Default::default() }).unwrap();
    assert_eq!(first.files.len(), 4);
    assert_eq!(setup.out().len(), 4);
    // A connection cut in the middle of the next poll: after it, a clean poll finishes the job.
    setup.sim.inject(Fault::DropControlAfter(6_000), Some(1));
    let _ = client.poll(&inbox, &PollOptions::default());
    setup.sim.clear_faults();
    let second = client.poll(&inbox, &PollOptions::default()).unwrap();
    assert!(second.files.iter().all(|f| !f.new), "nothing downloaded twice: {:?}", second.files);
    assert!(setup.out().is_empty(), "{:?}", setup.out());
    assert_eq!(list(&inbox).len(), 4, "{:?}", list(&inbox));
    let s = client.journal().submission(client.username(), &s.name).unwrap();
    assert_eq!(s.state, SubmissionState::Responded);
    assert_eq!(s.receipts.len(), 3);
}

#[test]
fn a_download_cut_off_leaves_no_partial_file_and_old_leftovers_are_tidied() {
    let setup = start();
    let mut client = setup.client("state");
    client.submit(SERVICE, &setup.file("d.xml", 100), &SubmitOptions::default()).unwrap();
    let start = std::time::Instant::now();
    while setup.out().len() < 4 && start.elapsed() < WAIT {
        std::thread::sleep(EVERY);
    }
    let inbox = setup.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    // What a poll killed with SIGKILL in the middle of a download leaves: a hidden temporary file, untouched
    // since. One of a download still running (written a moment ago) must stay.
    let killed = inbox.join(".status_d.xml.0badf00d.part");
    let running = inbox.join(".status_e.xml.12345678.part");
    std::fs::write(&killed, b"<half a rec").unwrap();
    std::fs::write(&running, b"<still arriving").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options().write(true).open(&killed).unwrap().set_modified(two_hours_ago).unwrap();

    // Every data connection breaks after 50 bytes, on the first try and on the retry: the poll fails, and no
    // file, whole or partial, appears under a name a user would pick up.
    setup.sim.inject(Fault::DropDataAfter(50), Some(2));
    let error = client.poll(&inbox, &PollOptions::default()).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::ConnectionLost | ErrorKind::UnexpectedReply), "{error}");
    assert_eq!(list(&inbox), [".status_e.xml.12345678.part"], "only the running download's file is left");
    assert_eq!(setup.out().len(), 4, "nothing deleted remotely");

    setup.sim.clear_faults();
    let report = client.poll(&inbox, &PollOptions::default()).unwrap();
    assert_eq!(report.files.len(), 4);
    assert!(setup.out().is_empty());
    let visible: Vec<String> = list(&inbox).into_iter().filter(|n| !n.starts_with('.')).collect();
    assert_eq!(visible.len(), 4, "{visible:?}");
}

#[test]
fn ping_measures_the_heartbeat_round_trip() {
    let setup = start();
    let mut client = setup.client("state");
    let ping = client.ping(&setup.path("inbox"), WAIT).unwrap();
    assert_eq!(ping.receipt.code, StatusCode::Delivered);
    assert_eq!(ping.receipt.service, "FTPSGW.Heartbeat");
    assert!(ping.name.starts_with("ping-"));
    assert!(ping.round_trip < WAIT);
    let s = client.journal().submission(client.username(), &ping.name).unwrap();
    assert_eq!(s.state, SubmissionState::Delivered);
    assert!(client.pending().unwrap().is_empty(), "a heartbeat is done at status 1");
}

/// Moves everything out of the inbox, as the downstream system that consumes it does.
fn consume(inbox: &std::path::Path, consumed: &std::path::Path) -> Vec<String> {
    std::fs::create_dir_all(consumed).unwrap();
    let names = list(inbox);
    for name in &names {
        std::fs::rename(inbox.join(name), consumed.join(name)).unwrap();
    }
    names
}

#[test]
fn files_the_consumer_took_from_the_inbox_are_not_fetched_again() {
    let setup = start();
    let mut client = setup.client("state");
    let s = client.submit(SERVICE, &setup.file("c.xml", 100), &SubmitOptions::default()).unwrap();
    wait_for_out(&setup, 4);
    let inbox = setup.path("inbox");
    let keep = PollOptions { keep_remote: true, ..Default::default() };
    let first = client.poll(&inbox, &keep).unwrap();
    assert_eq!(first.files.iter().filter(|f| f.new).count(), 4);
    assert_eq!(consume(&inbox, &setup.path("consumed")).len(), 4);

    // The journal holds all four: nothing comes back, though the local copies are gone.
    let second = client.poll(&inbox, &keep).unwrap();
    assert_eq!(second.files.len(), 4, "still listed in out");
    assert!(second.files.iter().all(|f| !f.new), "{:?}", second.files);
    assert!(list(&inbox).is_empty(), "{:?}", list(&inbox));
    assert_eq!(second.receipts.len(), 3, "the receipts are still reported, from the journal");
    assert!(second.receipts.iter().all(|r| r.outcome == ReceiptOutcome::AlreadyRecorded { ours: true }));

    // The poll that finishes the job (as after one cut off between download and delete) deletes them in out,
    // still without fetching them again.
    let third = client.poll(&inbox, &PollOptions::default()).unwrap();
    assert!(third.files.iter().all(|f| !f.new && f.deleted_remote), "{:?}", third.files);
    assert!(setup.out().is_empty(), "{:?}", setup.out());
    assert!(list(&inbox).is_empty(), "{:?}", list(&inbox));
    assert_eq!(client.journal().submission(client.username(), &s.name).unwrap().state, SubmissionState::Responded);
}

#[test]
fn a_name_that_comes_again_after_its_delete_is_a_new_file() {
    let setup = start();
    let mut client = setup.client("state");
    let out = setup.sim.out_dir(&setup.client_files().username);
    let inbox = setup.path("inbox");
    let unknown = PollOptions { delete_unknown: true, ..Default::default() };

    std::fs::write(out.join("recurring.xml"), b"AAAA").unwrap();
    let first = client.poll(&inbox, &unknown).unwrap();
    assert_eq!(first.files.iter().filter(|f| f.new).count(), 1);
    assert!(setup.out().is_empty());

    // A new file of the same name and size: fetched (not lost to --delete-unknown), beside the first.
    std::fs::write(out.join("recurring.xml"), b"BBBB").unwrap();
    let second = client.poll(&inbox, &unknown).unwrap();
    assert_eq!(second.files.iter().filter(|f| f.new).count(), 1, "{:?}", second.files);
    assert!(setup.out().is_empty());
    assert_eq!(std::fs::read(inbox.join("recurring.xml")).unwrap(), b"AAAA");
    assert_eq!(std::fs::read(inbox.join("recurring.1.xml")).unwrap(), b"BBBB");

    // Once the consumer took both, the same name comes once more: it is placed under its own name again.
    consume(&inbox, &setup.path("consumed"));
    std::fs::write(out.join("recurring.xml"), b"CCCC").unwrap();
    let third = client.poll(&inbox, &unknown).unwrap();
    assert_eq!(third.files.iter().filter(|f| f.new).count(), 1);
    assert_eq!(std::fs::read(inbox.join("recurring.xml")).unwrap(), b"CCCC");

    // The content fetched last time, again (a delete that did not take): no second copy.
    std::fs::write(out.join("recurring.xml"), b"CCCC").unwrap();
    let fourth = client.poll(&inbox, &unknown).unwrap();
    assert!(fourth.files.iter().all(|f| !f.new), "{:?}", fourth.files);
    assert_eq!(list(&inbox), ["recurring.xml"]);
    assert!(setup.out().is_empty());
}

#[test]
fn a_file_that_leaves_out_between_listing_and_download_is_skipped() {
    let setup = start();
    let mut client = setup.client("state");
    let out = setup.sim.out_dir(&setup.client_files().username);
    std::fs::write(out.join("a.xml"), b"first").unwrap();
    std::fs::write(out.join("b.xml"), b"second").unwrap();
    // Files are fetched in name order: while a.xml arrives, another system sharing the certificate takes b.xml.
    let vanishing = out.join("b.xml");
    client.set_event_handler(move |e| {
        if let gateway::gateway::Event::Downloaded { remote_name, .. } = e {
            if remote_name == "a.xml" {
                std::fs::remove_file(&vanishing).unwrap();
            }
        }
    });
    let inbox = setup.path("inbox");
    let report = client.poll(&inbox, &PollOptions { delete_unknown: true, ..Default::default() }).unwrap();
    let fetched: Vec<&str> = report.files.iter().map(|f| f.remote_name.as_str()).collect();
    assert_eq!(fetched, ["a.xml"]);
    assert_eq!(list(&inbox), ["a.xml"]);
    assert!(setup.out().is_empty());
}

#[test]
fn polls_of_one_journal_run_one_after_the_other() {
    let setup = start();
    let out = setup.sim.out_dir(&setup.client_files().username);
    std::fs::write(out.join("big.bin"), vec![7u8; 8 << 20]).unwrap();
    let inbox = setup.path("inbox");
    let waited = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // A poll already running elsewhere (here: its lock, held by the test) ...
    let journal = gateway::journal::Journal::open(&setup.config("state").journal).unwrap();
    let running = journal.lock_polls(|_| panic!("nobody else polls yet")).unwrap();
    // ... and three clients, each with its own journal handle and connection, as three processes would have.
    let reports: Vec<_> = std::thread::scope(|scope| {
        let polls: Vec<_> = (0..3)
            .map(|_| {
                let mut client = setup.client("state");
                let waited = waited.clone();
                client.set_event_handler(move |e| {
                    if matches!(e, gateway::gateway::Event::WaitingForOtherPoll { .. }) {
                        waited.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
                let inbox = inbox.clone();
                scope.spawn(move || client.poll(&inbox, &PollOptions { delete_unknown: true, ..Default::default() }))
            })
            .collect();
        std::thread::sleep(Duration::from_secs(1));
        assert!(list(&inbox).is_empty(), "nothing fetched while another poll runs: {:?}", list(&inbox));
        assert_eq!(setup.out(), ["big.bin"]);
        drop(running);
        polls.into_iter().map(|p| p.join().unwrap()).collect()
    });
    let mut downloads = 0;
    for report in reports {
        let report = report.expect("every poll succeeds");
        downloads += report.files.iter().filter(|f| f.new).count();
    }
    assert_eq!(downloads, 1, "one poll downloaded the file, the others found it done");
    assert_eq!(list(&inbox), ["big.bin"]);
    assert!(setup.out().is_empty());
    assert!(waited.load(std::sync::atomic::Ordering::SeqCst) >= 1, "the polls overlapped and waited");
}

/// Files in the spool folder beside the journal of the "state" folder, for every owner.
fn spool_files(setup: &Setup) -> Vec<String> {
    let spool = setup.path("state/journal.sqlite.spool");
    std::fs::read_dir(&spool).unwrap().filter_map(|e| e.ok()).flat_map(|owner| list(&owner.path())).collect()
}

fn received_bytes(setup: &Setup, name: &str) -> Vec<u8> {
    let folder = setup.sim.dir().join("users").join(&setup.client_files().username).join(".gateway/received").join(SERVICE);
    std::fs::read(folder.join(name)).unwrap()
}

/// Runs `change` on `file` at the first event `when` picks, from inside the client (so at a known point).
fn change_file_at(client: &mut gateway::gateway::Client, file: &std::path::Path, when: fn(&Event) -> bool, change: fn(&std::path::Path)) {
    let file = file.to_path_buf();
    let mut done = false;
    client.set_event_handler(move |event| {
        if !done && when(event) {
            done = true;
            change(&file);
        }
    });
}

#[test]
fn a_file_that_changes_while_it_is_read_is_refused_before_anything_is_sent() {
    let setup = start();
    let mut client = setup.client("state");
    let file = setup.file("growing.xml", 8 * 1024 * 1024);
    let first_chunk = |e: &Event| matches!(e, Event::Snapshotting { copied, .. } if *copied > 0);

    // Truncated while it is being copied (a producer starting over).
    change_file_at(&mut client, &file, first_chunk, |f| std::fs::File::options().write(true).open(f).unwrap().set_len(1000).unwrap());
    let err = client.submit(SERVICE, &file, &SubmitOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("growing.xml changed while it was being read"), "{}", err.message());
    assert!(err.message().contains("once whoever writes it has finished"), "{}", err.message());
    assert!(setup.received(SERVICE).is_empty(), "nothing reached the gateway");
    assert!(client.journal().submissions(None).unwrap().is_empty(), "nothing recorded");
    assert!(spool_files(&setup).is_empty(), "no snapshot left: {:?}", spool_files(&setup));

    // Rewritten in place with the same size (only the modification time tells).
    let file = setup.file("rewritten.xml", 8 * 1024 * 1024);
    change_file_at(&mut client, &file, first_chunk, |f| {
        use std::io::Write;
        std::thread::sleep(Duration::from_millis(20));
        std::fs::File::options().write(true).open(f).unwrap().write_all(b"<changed/>").unwrap();
    });
    let err = client.submit(SERVICE, &file, &SubmitOptions::default()).unwrap_err();
    assert!(err.message().contains("changed while it was being read"), "{}", err.message());
    assert!(setup.received(SERVICE).is_empty());

    // Once the file is left alone it goes, whole.
    change_file_at(&mut client, &file, |_| false, |_| {});
    let s = client.submit(SERVICE, &file, &SubmitOptions::default()).unwrap();
    assert_eq!(received_bytes(&setup, &s.name), std::fs::read(&file).unwrap());
}

#[test]
fn the_upload_sends_the_snapshot_whatever_happens_to_the_file_meanwhile() {
    let setup = start();
    let mut client = setup.client("state");
    let file = setup.file("export.xml", 4 * 1024 * 1024);
    let original = std::fs::read(&file).unwrap();
    // The producer truncates the file as soon as the upload has started.
    change_file_at(&mut client, &file, |e| matches!(e, Event::Uploading { .. }), |f| {
        std::fs::File::options().write(true).open(f).unwrap().set_len(1000).unwrap()
    });
    let s = client.submit(SERVICE, &file, &SubmitOptions::default()).unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 1000, "the file did change during the upload");
    assert_eq!(received_bytes(&setup, &s.name), original, "the gateway got what was snapshotted");
    assert_eq!(s.size, Some(original.len() as u64));
    assert_eq!(s.sha256.as_deref(), Some(hex_sha256(&original).as_str()), "the journal records what was sent");
    assert_eq!(s.spool_path, None, "the spool copy is gone once the gateway has the file");
    assert!(spool_files(&setup).is_empty(), "{:?}", spool_files(&setup));
}

fn hex_sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[test]
fn a_submission_stuck_at_status_1_becomes_overdue() {
    // The backend takes the file (status 1) but does not process it: no status 2, and no status 0 either.
    let setup = start_with(|c| c.delays.accepted = Duration::from_secs(3600));
    let mut config = setup.config("state");
    let deadline = Duration::from_secs(2);
    config.deadline = deadline;
    let mut client = gateway::gateway::Client::connect(config).unwrap();
    let s = client.submit(SERVICE, &setup.file("stuck.xml", 100), &SubmitOptions::default()).unwrap();
    let uploaded = std::time::Instant::now();
    let inbox = setup.path("inbox");
    while client.journal().submission(client.username(), &s.name).unwrap().state != SubmissionState::Delivered {
        assert!(uploaded.elapsed() < WAIT, "no status 1");
        client.poll(&inbox, &PollOptions::default()).unwrap();
        std::thread::sleep(EVERY);
    }
    std::thread::sleep(deadline.saturating_sub(uploaded.elapsed()) + Duration::from_millis(100));
    let report = client.poll(&inbox, &PollOptions::default()).unwrap();
    let names: Vec<&str> = report.overdue.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [s.name.as_str()]);
    assert_eq!(client.journal().submission(client.username(), &s.name).unwrap().state, SubmissionState::Overdue);
    // A heartbeat is done at status 1: it never becomes overdue.
    let ping = client.ping(&inbox, WAIT).unwrap();
    std::thread::sleep(deadline + Duration::from_millis(100));
    let report = client.poll(&inbox, &PollOptions::default()).unwrap();
    assert!(report.newly_overdue.is_empty(), "{:?}", report.newly_overdue);
    let still: Vec<&str> = report.overdue.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(still, [s.name.as_str()], "the stuck one stays overdue, reported on every poll");
    assert_eq!(client.journal().submission(client.username(), &ping.name).unwrap().state, SubmissionState::Delivered);
}

#[test]
fn an_unreadable_status_0_for_a_known_name_fails_the_submission() {
    let setup = start();
    let mut client = setup.client("state");
    setup.sim.set_backend_available(false);
    let s = client.submit(SERVICE, &setup.file("broken.xml", 100), &SubmitOptions::default()).unwrap();
    let out = setup.sim.out_dir(&setup.client_files().username);
    let status = format!("status_{SERVICE}_{}_0.xml", s.name);
    std::fs::write(out.join(&status), "<status><file>cut off here").unwrap();
    let inbox = setup.path("inbox");
    let report = client.poll(&inbox, &PollOptions::default()).unwrap();
    assert_eq!(report.invalid.len(), 1, "still reported as a file that cannot be read");
    assert_eq!(report.receipts.len(), 1);
    assert_eq!(report.receipts[0].outcome, ReceiptOutcome::Applied { state: SubmissionState::Failed });
    let failed = client.journal().submission(client.username(), &s.name).unwrap();
    assert_eq!(failed.state, SubmissionState::Failed);
    let error = failed.error.unwrap();
    assert_eq!(error.code.as_deref(), Some("UNREADABLE_STATUS_FILE"));
    assert!(error.resolution.unwrap().contains(&inbox.join(&status).display().to_string()));
    assert_eq!(std::fs::read_to_string(inbox.join(&status)).unwrap(), "<status><file>cut off here", "the file is kept");
    let receipts: Vec<&str> = failed.receipts.iter().map(|r| r.status_file.as_str()).collect();
    assert_eq!(receipts, [status.as_str()]);
}

#[test]
fn another_journals_response_file_is_left_in_out_and_reported() {
    // One certificate, two systems with their own journals: A submits, B polls first.
    let setup = start();
    let mut a = setup.client("a");
    let mut b = setup.client("b");
    let s = a.submit(SERVICE, &setup.file("mine.xml", 100), &SubmitOptions::default()).unwrap();
    wait_for_out(&setup, 4);
    let report = b.poll(&setup.path("b-inbox"), &PollOptions::default()).unwrap();
    assert_eq!(report.unknown.len(), 3, "A's status files");
    let response = a.journal().submission(a.username(), &s.name).unwrap().response_files;
    assert!(response.is_empty(), "A has not polled yet");
    assert_eq!(report.unknown_files.len(), 1, "{:?}", report.files);
    assert!(!report.unknown_files[0].deleted_remote);
    assert_eq!(setup.out().len(), 4, "everything left for A: {:?}", setup.out());

    // A then gets all four, its response file included, and clears out.
    a.poll(&setup.path("a-inbox"), &PollOptions::default()).unwrap();
    let s = a.journal().submission(a.username(), &s.name).unwrap();
    assert_eq!(s.state, SubmissionState::Responded);
    let responses: Vec<&str> = s.response_files.iter().map(|r| r.remote_name.as_str()).collect();
    assert_eq!(responses, [report.unknown_files[0].remote_name.as_str()]);
    assert!(setup.out().is_empty(), "{:?}", setup.out());
}

#[test]
fn the_same_content_is_not_sent_twice_unless_asked() {
    let setup = start();
    let mut client = setup.client("state");
    let file = setup.file("nightly.xml", 5_000);
    let first = client.submit(SERVICE, &file, &SubmitOptions::default()).unwrap();

    // Re-running the same submit (after a crash, say) finds the content at the gateway already.
    let again = client.submit_file(SERVICE, &file, &SubmitOptions::default()).unwrap();
    match &again {
        Submitted::AlreadySubmitted(s) => assert_eq!((s.name.as_str(), s.state), (first.name.as_str(), SubmissionState::Uploaded)),
        other => panic!("sent again: {other:?}"),
    }
    // Under another file name too: it is the content that counts.
    let copy = setup.path("copy-of-nightly.xml");
    std::fs::copy(&file, &copy).unwrap();
    assert!(matches!(client.submit_file(SERVICE, &copy, &SubmitOptions::default()).unwrap(), Submitted::AlreadySubmitted(_)));
    assert_eq!(setup.received(SERVICE), [first.name.as_str()]);
    assert!(spool_files(&setup).is_empty(), "the skipped snapshots are gone");

    // `again` sends it anyway, under a new name.
    let forced = client.submit_file(SERVICE, &file, &SubmitOptions { again: true, ..SubmitOptions::default() }).unwrap();
    let Submitted::Sent(forced) = forced else { panic!("{forced:?}") };
    assert_ne!(forced.name, first.name);
    assert_eq!(setup.received(SERVICE).len(), 2);
}

#[test]
fn an_empty_file_is_refused_unless_allowed() {
    let setup = start();
    let mut client = setup.client("state");
    let empty = setup.path("empty.xml");
    std::fs::write(&empty, b"").unwrap();
    let err = client.submit(SERVICE, &empty, &SubmitOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("empty.xml is empty") && err.message().contains("--allow-empty"), "{}", err.message());
    assert!(setup.received(SERVICE).is_empty());
    assert!(client.journal().submissions(None).unwrap().is_empty());
    assert!(spool_files(&setup).is_empty());

    let s = client.submit(SERVICE, &empty, &SubmitOptions { allow_empty: true, ..SubmitOptions::default() }).unwrap();
    assert_eq!(s.size, Some(0));
    assert_eq!(setup.received(SERVICE), [s.name.as_str()]);
}

#[test]
fn a_wait_ends_as_soon_as_the_keep_waiting_hook_says_stop() {
    let setup = start();
    let mut client = setup.client("state");
    setup.sim.set_backend_available(false);
    let s = client.submit(SERVICE, &setup.file("waiting.xml", 100), &SubmitOptions::default()).unwrap();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let count = asked.clone();
    // Stop after about half a second of waiting (the hook is asked every 50 ms).
    client.set_keep_waiting(move || count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 10);
    let started = std::time::Instant::now();
    let report = client.poll_until_settled(&setup.path("inbox"), &PollOptions::default(), Duration::from_secs(60), EVERY).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "the wait of 60 s ended early: {:?}", started.elapsed());
    assert!(report.receipts.is_empty());
    assert_eq!(client.journal().submission(client.username(), &s.name).unwrap().state, SubmissionState::Uploaded);

    // The heartbeat's wait for its status ends the same way, as overdue.
    let err = client.ping(&setup.path("inbox"), Duration::from_secs(60)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SubmissionOverdue, "{err}");
    assert!(err.message().contains("stopped waiting"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// A poll of many files over parallel sessions: every file of `out` in the inbox once, byte for byte as the
/// journal records it, every receipt applied, `out` empty, the helper sessions really used and logged out;
/// a second poll finds nothing. A poll of a few files opens no helper (its login would cost more than it
/// saves).
#[test]
fn poll_over_parallel_sessions_fetches_each_file_once() {
    use sha2::Digest;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    let setup = start();
    let mut config = setup.config("state");
    config.sessions = 4;
    let mut client = gateway::gateway::Client::connect(config).unwrap();
    let files: Vec<std::path::PathBuf> = (0..10).map(|i| setup.file(&format!("p{i:02}.xml"), 1_000 + i)).collect();
    for r in client.submit_files(SERVICE, &files, &SubmitOptions::default()) {
        r.unwrap();
    }
    // Every receipt waiting in out (status 1, 2, 3 and a response per declaration) before the one poll.
    let deadline = std::time::Instant::now() + WAIT;
    while setup.out().len() < 40 {
        assert!(std::time::Instant::now() < deadline, "the simulator answered only {:?}", setup.out());
        std::thread::sleep(EVERY);
    }
    let (logins, downloads) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (l, d) = (logins.clone(), downloads.clone());
    client.set_event_handler(move |e| match e {
        Event::Connected { .. } => drop(l.fetch_add(1, SeqCst)),
        Event::Downloaded { .. } => drop(d.fetch_add(1, SeqCst)),
        _ => {}
    });
    let inbox = setup.path("inbox");
    let report = client.poll(&inbox, &PollOptions::default()).unwrap();
    assert_eq!(logins.load(SeqCst), 3, "three helper sessions besides this client's (40 files, 4 sessions)");
    assert_eq!(downloads.load(SeqCst), 40, "every download reported to this client's handler");
    assert_eq!(report.files.len(), 40);
    assert!(report.files.iter().all(|f| f.new && f.deleted_remote), "{:?}", report.files);
    assert_eq!(report.receipts.len(), 30);
    assert!(report.unknown.is_empty() && report.unknown_files.is_empty() && report.pending.is_empty(), "{report:?}");
    assert!(setup.out().is_empty(), "out still holds {:?}", setup.out());
    let recorded = client.journal().downloads(Some(client.username())).unwrap();
    assert_eq!(recorded.len(), 40);
    let mut in_inbox: Vec<String> = std::fs::read_dir(&inbox).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    in_inbox.sort();
    let mut names: Vec<String> = recorded.iter().map(|d| d.remote_name.clone()).collect();
    names.sort();
    assert_eq!(in_inbox, names, "each file once in the inbox, under its own name, no temporary file left");
    for d in &recorded {
        assert!(d.deleted_remote_at.is_some(), "{d:?}");
        let bytes = std::fs::read(&d.local_path).unwrap();
        assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), d.sha256, "{}", d.remote_name);
        assert_eq!(bytes.len() as u64, d.size);
    }
    let settled = client.journal().submissions(Some(client.username())).unwrap();
    assert!(settled.iter().all(|s| s.state == SubmissionState::Responded), "{settled:?}");

    // The same client polls on: nothing new, and a poll of one declaration's four files opens no helper.
    assert!(client.poll(&inbox, &PollOptions::default()).unwrap().files.is_empty());
    client.submit(SERVICE, &setup.file("last.xml", 700), &SubmitOptions::default()).unwrap();
    while setup.out().len() < 4 {
        assert!(std::time::Instant::now() < deadline + WAIT, "the simulator answered only {:?}", setup.out());
        std::thread::sleep(EVERY);
    }
    let report = client.poll(&inbox, &PollOptions::default()).unwrap();
    assert_eq!(report.files.len(), 4);
    assert_eq!(logins.load(SeqCst), 3, "no helper for four files");
}

/// Many files over parallel sessions: each content accepted once by the gateway and journaled once, copies
/// of one content in the list sent once, the results in the order given, the sessions really side by side,
/// and this client's hooks back afterwards.
#[test]
fn submit_files_over_parallel_sessions_sends_each_content_once() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    let setup = start();
    let mut config = setup.config("state");
    config.sessions = 4;
    let mut client = gateway::gateway::Client::connect(config).unwrap();
    let (logins, uploads) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (l, u) = (logins.clone(), uploads.clone());
    client.set_event_handler(move |e| match e {
        Event::Connected { .. } => drop(l.fetch_add(1, SeqCst)),
        Event::Uploaded { .. } => drop(u.fetch_add(1, SeqCst)),
        _ => {}
    });
    let mut files: Vec<std::path::PathBuf> = (0..24).map(|i| setup.file(&format!("decl{i:02}.xml"), 2_000 + i)).collect();
    for copy in ["copy-a.xml", "copy-b.xml", "copy-c.xml"] {
        std::fs::copy(&files[5], setup.path(copy)).unwrap();
        files.push(setup.path(copy));
    }
    let results = client.submit_files(SERVICE, &files, &SubmitOptions::default());
    assert_eq!(results.len(), files.len());
    let done: Vec<&Submitted> =
        files.iter().zip(&results).map(|(f, r)| r.as_ref().unwrap_or_else(|e| panic!("{}: {e}", f.display()))).collect();
    let sent: std::collections::BTreeSet<String> =
        done.iter().filter(|d| matches!(d, Submitted::Sent(_))).map(|d| d.submission().name.clone()).collect();
    assert_eq!(sent.len(), 24, "one new name per content: {:?}", done.iter().map(|d| d.outcome()).collect::<Vec<_>>());
    let copies: std::collections::BTreeSet<&str> = [5, 24, 25, 26].iter().map(|&i| done[i].submission().name.as_str()).collect();
    assert_eq!(copies.len(), 1, "decl05 and its three copies are one submission");
    for (i, d) in done.iter().enumerate().take(24) {
        assert_eq!(d.submission().size, Some(2_000 + i as u64), "result {i} belongs to file {i}");
    }
    assert_eq!(setup.received(SERVICE).into_iter().collect::<std::collections::BTreeSet<_>>(), sent, "the gateway got each once");
    assert_eq!(uploads.load(SeqCst), 24, "every upload reported to this client's handler");
    let logins = logins.load(SeqCst);
    assert!((2..=3).contains(&logins), "{logins} more sessions logged in besides this client's");
    let journal = client.journal().submissions(Some(client.username())).unwrap();
    assert_eq!(journal.len(), 24);
    assert!(journal.iter().all(|s| s.state == SubmissionState::Uploaded), "{journal:?}");

    // The client's own handler is back, and its session still works: the receipts of all 24 come back.
    client.submit(SERVICE, &setup.file("after.xml", 500), &SubmitOptions::default()).unwrap();
    assert_eq!(uploads.load(SeqCst), 25);
    client.poll_until_settled(&setup.path("inbox"), &PollOptions::default(), WAIT, EVERY).unwrap();
    let settled = client.journal().submissions(Some(client.username())).unwrap();
    assert!(settled.iter().all(|s| s.state == SubmissionState::Responded), "{settled:?}");
}

#[test]
fn submit_files_stops_trying_once_the_gateway_is_gone() {
    let setup = start();
    let mut config = setup.config("state");
    config.sessions = 4;
    config.upload_attempts = 1;
    let mut client = gateway::gateway::Client::connect(config).unwrap();
    client.services().unwrap();
    let files: Vec<std::path::PathBuf> = (0..16).map(|i| setup.file(&format!("gone{i:02}.xml"), 700 + i)).collect();
    // The gateway goes away (its ports closed, every connection cut) for a while, as in an outage.
    std::thread::scope(|scope| {
        let outage = scope.spawn(|| setup.sim.restart(Duration::from_secs(6)).unwrap());
        std::thread::sleep(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let results = client.submit_files(SERVICE, &files, &SubmitOptions::default());
        let took = started.elapsed();
        assert_eq!(results.len(), 16);
        let errors: Vec<&gateway::Error> = results.iter().map(|r| r.as_ref().expect_err("nothing can be sent in an outage")).collect();
        let untried = errors.iter().filter(|e| e.to_string().contains("not tried")).count();
        assert!(untried >= 12, "at most one file per session is tried: {errors:#?}");
        for (file, e) in files.iter().zip(&errors).filter(|(_, e)| e.to_string().contains("not tried")) {
            assert!(e.to_string().contains(&file.display().to_string()), "an untried file is named: {e}");
            assert!(
                matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionLost),
                "with the kind of the failure that stopped the call: {e}"
            );
        }
        assert!(took < Duration::from_secs(5), "the outage is found once, not waited through per file: {took:?}");
        outage.join().unwrap();
    });
    let spent = client.journal().submissions(Some(client.username())).unwrap();
    assert!(spent.len() <= 4, "untried files spend no name: {spent:?}");
    // Back up: the same call sends each file once, finishing what was interrupted.
    let results = client.submit_files(SERVICE, &files, &SubmitOptions::default());
    assert!(results.iter().all(|r| r.is_ok()), "{results:#?}");
    assert_eq!(setup.received(SERVICE).len(), 16);
}
