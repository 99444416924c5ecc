//! Exactly once from outside: overlapping processes on one journal, a gateway that restarts under a waiting
//! poll and under an upload, a reader of stdout that goes away, two systems sharing one certificate, and odd
//! files in `out`. Each case is one that broke before (issue 9).

mod workflow_support;

use gateway::gateway::client::{PollOptions, SubmitOptions};
use gateway::journal::SubmissionState;
use std::process::Stdio;
use std::time::{Duration, Instant};
use workflow_support::*;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Five `submit` processes of the same file at once, twenty rounds: every round exactly one upload reaches the
/// gateway, and every process exits 0 (one sent it, the others found it sent).
#[test]
fn overlapping_submits_of_one_file_send_it_once() {
    let setup = start();
    let config = write_config(&setup, "state");
    for round in 0..20 {
        let file = setup.file(&format!("export-{round}.xml"), 300 + round);
        let children: Vec<_> = (0..5)
            .map(|_| {
                cli(&config)
                    .args(["submit", "-s", SERVICE, "--json"])
                    .arg(&file)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut outcomes = Vec::new();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
            outcomes.push(json(&out)[0]["outcome"].as_str().unwrap().to_string());
        }
        outcomes.sort();
        assert_eq!(outcomes, ["already_submitted", "already_submitted", "already_submitted", "already_submitted", "sent"], "round {round}");
        assert_eq!(setup.received(SERVICE).len(), round + 1, "round {round}: one accepted declaration per content");
    }
    let journal = status_json(&config);
    assert_eq!(journal.len(), 20, "one submission per content");
    assert!(journal.iter().all(|s| s["attempts"] == 1), "nobody resumed a live upload: {journal:?}");
}

/// `poll --wait` keeps waiting through a gateway restart (connections cut, port closed for 2 s) and ends
/// with everything answered.
#[test]
fn poll_wait_rides_out_a_gateway_restart() {
    let setup = start_with(|c| {
        c.delays.delivered = Duration::from_millis(1500);
        c.delays.accepted = Duration::from_millis(500);
    });
    let config = write_config(&setup, "state");
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("d.xml", 100)));
    let poll = cli(&config)
        .args(["poll", "--wait", "60s", "--interval", "200ms", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    setup.sim.restart(Duration::from_secs(2)).unwrap();
    let out = poll.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    assert_eq!(report["pending"].as_array().unwrap().len(), 0, "{report}");
    assert_eq!(status_json(&config)[0]["state"], "Responded");
}

/// A restart in the middle of an upload: `submit` retries under the same name and succeeds (before: killed by
/// SIGPIPE, exit 141, the submission left Uploading).
#[test]
fn submit_during_a_restart_retries_under_the_same_name() {
    let setup = start();
    let config = write_config(&setup, "state");
    let file = setup.file("big.xml", 40 * 1024 * 1024);
    let incoming = setup.sim.dir().join("users").join(&setup.client_files().username).join(".gateway/incoming");
    let child = cli_with(&config, "-v").args(["submit", "-s", SERVICE, "--json"]).arg(&file).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    loop {
        let partial = std::fs::read_dir(&incoming)
            .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| e.metadata().ok()).map(|m| m.len()).max().unwrap_or(0))
            .unwrap_or(0);
        if partial >= 2 * 1024 * 1024 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the upload never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    setup.sim.restart(Duration::from_millis(800)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let result = json(&out);
    assert_eq!(result[0]["outcome"], "sent");
    assert!(result[0]["submission"]["attempts"].as_u64().unwrap() >= 2, "{result}");
    let name = result[0]["submission"]["name"].as_str().unwrap();
    let audit: Vec<_> = setup.sim.audit().unwrap().into_iter().filter(|e| e.event == gateway::sim::AuditEvent::Received).collect();
    assert_eq!(setup.received(SERVICE), [name], "one copy, under the one name: {result}\n{audit:?}\n{}", String::from_utf8_lossy(&out.stderr));
}

/// The reader of stdout goes away after the first line (`submit a b c d e | head -1`): all five files are
/// still sent, and the exit code says so.
#[test]
fn a_closed_stdout_does_not_stop_the_work() {
    let setup = start();
    let config = write_config(&setup, "state");
    let files: Vec<_> = (0..5).map(|i| setup.file(&format!("f{i}.xml"), 100 + i)).collect();
    let mut child = cli(&config).args(["submit", "-s", SERVICE]).args(&files).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(setup.received(SERVICE).len(), 5);
}

/// One certificate, two systems with their own journals, both choosing names. B's upload under a name A used
/// is refused with status 0; A polls first and must leave that status file for B, which then fails.
#[test]
fn a_status_0_reaches_the_system_whose_upload_it_refused() {
    let setup = start();
    let (mut a, mut b) = (setup.client("a"), setup.client("b"));
    let named = SubmitOptions { name: Some("SHIPMENT-4711.xml".into()), ..SubmitOptions::default() };
    a.submit(SERVICE, &setup.file("a.xml", 100), &named).unwrap();
    let settled = a.poll_until_settled(&setup.path("a-inbox"), &PollOptions::default(), WAIT, EVERY).unwrap();
    assert!(settled.pending.is_empty());
    b.submit(SERVICE, &setup.file("b.xml", 120), &named).unwrap();
    wait_for_out(&setup, 1);

    let report = a.poll(&setup.path("a-inbox"), &PollOptions::default()).unwrap();
    assert!(report.receipts.is_empty(), "not A's: {:?}", report.receipts);
    assert_eq!(report.unknown.len(), 1);
    assert_eq!(a.journal().submission(a.username(), "SHIPMENT-4711.xml").unwrap().state, SubmissionState::Responded);
    assert_eq!(setup.out().len(), 1, "left in out for B");

    let report = b.poll(&setup.path("b-inbox"), &PollOptions::default()).unwrap();
    let s = b.journal().submission(b.username(), "SHIPMENT-4711.xml").unwrap();
    assert_eq!(s.state, SubmissionState::Failed);
    assert_eq!(s.error.unwrap().code.as_deref(), Some("FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION"));
    assert_eq!(report.rejected.len(), 1);
}

/// Files in `out` whose names cannot be inbox files (a backslash, a line break) are skipped with a warning (the
/// listing drops them; names the listing keeps but the inbox cannot hold go to the report's `skipped`); a name of
/// 254 bytes comes in; and the submission's own receipts arrive as always.
#[test]
fn odd_names_in_out_do_not_stop_the_poll() {
    let setup = start();
    let config = write_config(&setup, "state");
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("d.xml", 100)));
    let out = setup.sim.out_dir(&setup.client_files().username);
    let long = format!("{}.xml", "L".repeat(250));
    for name in ["back\\slash.xml", "line\nbreak.xml", long.as_str()] {
        std::fs::write(out.join(name), b"<x/>").unwrap();
    }
    wait_for_out(&setup, 7);
    let polled = cli_with(&config, "-v").args(["poll", "--json"]).output().unwrap();
    assert_eq!(polled.status.code(), Some(0), "{}", String::from_utf8_lossy(&polled.stderr));
    let stderr = String::from_utf8_lossy(&polled.stderr);
    assert!(setup.path("state/inbox").join(&long).is_file(), "the long name comes in");
    assert_eq!(status_json(&config)[0]["state"], "Responded");
    // A name with a path separator never leaves the listing; one warning per poll says so.
    assert_eq!(stderr.matches("cannot use the listing line").count(), 2, "the backslash and the line break: {stderr}");
    assert!(stderr.contains("back\\\\slash.xml"), "{stderr}");
    assert!(out.join("back\\slash.xml").exists(), "left in out");
    assert!(json(&polled)["files"].as_array().unwrap().iter().all(|f| !f["remote_name"].as_str().unwrap().contains('\\')));
    assert!(stderr.contains("\"break.xml\""), "the line-break name is not passed over silently: {stderr}");
}

/// An upload killed midway whose file was then corrected and sent under a new name: `status NAME --close`
/// abandons the old one (its spool copy goes), and poll stops exiting 10 for it. Before, nothing but sending
/// the obsolete content again cleared it.
#[test]
fn an_interrupted_upload_of_a_corrected_file_can_be_abandoned() {
    let setup = start();
    let config = write_config(&setup, "state");
    let file = setup.file("decl.xml", 30 * 1024 * 1024);
    let incoming = setup.sim.dir().join("users").join(&setup.client_files().username).join(".gateway/incoming");
    let mut child = cli(&config).args(["submit", "-s", SERVICE]).arg(&file).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while std::fs::read_dir(&incoming).map(|d| d.count()).unwrap_or(0) == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the upload never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    child.kill().unwrap();
    child.wait().unwrap();
    let old = status_json(&config)[0]["name"].as_str().unwrap().to_string();
    let copy = setup.path("state").join("journal.sqlite.spool").join(&setup.client_files().username).join(&old);
    assert!(copy.exists(), "the interrupted upload keeps its copy");

    std::fs::write(&file, b"<decl>corrected</decl>").unwrap();
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(&file));
    let out = cli(&config).args(["poll", "--wait", "20s", "--interval", "100ms"]).output().unwrap();
    assert_eq!(out.status.code(), Some(10), "the old one is stale: {}", String::from_utf8_lossy(&out.stderr));
    run(cli(&config).args(["status", &old, "--close", "--reason", "corrected and sent anew"]));
    assert!(!copy.exists(), "abandoning removed the copy");
    let out = cli(&config).args(["poll"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let journal = status_json(&config);
    let states: Vec<&str> = journal.iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["Closed", "Responded"]);
    assert_eq!(journal[0]["close_reason"], "corrected and sent anew");
}

/// A warning is given once per run, not once per connection (the password file's permissions were read again
/// on every reconnect).
#[test]
fn a_warning_is_printed_once() {
    use std::os::unix::fs::PermissionsExt;
    let setup = start();
    let config = write_config(&setup, "state");
    let open_password = setup.path("pw-0644");
    std::fs::copy(&setup.client_files().gateway_password_file, &open_password).unwrap();
    std::fs::set_permissions(&open_password, std::fs::Permissions::from_mode(0o644)).unwrap();
    for command in [&["ls"][..], &["submit", "-s", SERVICE]] {
        let mut cli = cli_with(&config, "-v");
        cli.args(command).env("SKAT_GATEWAY_PASSWORD_FILE", &open_password);
        if command[0] == "submit" {
            cli.arg(setup.file("a.xml", 10));
        }
        let out = cli.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.matches("can be read by other users").count(), 1, "{command:?}: {stderr}");
    }
}

/// A local read error in the middle of an upload (a disk error, a file on a network share that went away)
/// breaks the transfer off: a normal close would tell the server the file is complete, and the gateway would
/// process half a declaration.
#[test]
fn an_upload_whose_local_data_fails_midway_leaves_nothing_at_the_gateway() {
    struct FailsAfter(usize);
    impl std::io::Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("the disk went away"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }
    let setup = start();
    let config = setup.config("state");
    let identity = std::sync::Arc::new(config.load_identity().unwrap());
    let mut session = gateway::ftp::Session::connect(&config.session_config(gateway::gateway::GatewayChoice::New, identity).unwrap()).unwrap();
    let error = session
        .put(&mut FailsAfter(300_000), &format!("{SERVICE}/half.xml"), gateway::ftp::TransferType::Binary, None)
        .unwrap_err();
    assert_eq!(error.kind(), gateway::ErrorKind::Io, "{error}");
    assert!(error.message().contains("broken off"), "{error}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(setup.received(SERVICE).is_empty(), "the gateway took half a file: {:?}", setup.received(SERVICE));
    assert!(session.list(Some("out")).unwrap().is_empty(), "no status files for it");
}

/// A face's keep-waiting hook (Ctrl-C in Python) ends the wait for another process's upload of the same content;
/// nothing is sent by the one that stopped waiting.
#[test]
fn the_wait_for_another_upload_can_be_ended() {
    use sha2::Digest;
    let setup = start();
    let file = setup.file("same.xml", 500);
    let mut client = setup.client("state");
    // Another process's live upload of this content: its claim, held here.
    let other = gateway::journal::Journal::open(client.journal().path()).unwrap();
    let held = other
        .claim_upload(
            &gateway::journal::UploadRequest {
                owner: client.username().to_string(),
                service: SERVICE.into(),
                gateway: "new".into(),
                local_path: None,
                size: 500,
                sha256: hex::encode(sha2::Sha256::digest(std::fs::read(&file).unwrap())),
                name: None,
                dedupe: gateway::journal::Dedupe::Always,
                snapshot: None,
            },
            &mut || "held-1.xml".into(),
        )
        .unwrap();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = asked.clone();
    client.set_keep_waiting(move || counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 5);
    let started = Instant::now();
    let error = client.submit(SERVICE, &file, &SubmitOptions::default()).unwrap_err();
    assert!(error.message().contains("stopped waiting for another process's upload"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10), "ended promptly");
    assert!(asked.load(std::sync::atomic::Ordering::Relaxed) >= 5);
    assert!(setup.received(SERVICE).is_empty(), "nothing sent");
    drop(held);
}
