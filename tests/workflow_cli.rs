//! The workflow through the command-line tool: config files, several processes on one journal, a process
//! killed in the middle of an upload.

mod workflow_support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use workflow_support::*;

#[test]
fn two_processes_submit_100_files_each_into_one_journal() {
    let setup = start();
    let config = write_config(&setup, "state");
    let mut children = Vec::new();
    for process in ["a", "b"] {
        let files: Vec<PathBuf> = (0..100).map(|i| setup.file(&format!("{process}-{i:03}.xml"), 200)).collect();
        children.push(
            cli(&config)
                .args(["submit", "--service", SERVICE, "--json"])
                .args(&files)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let mut names = std::collections::HashSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list.len(), 100);
        for s in list {
            assert_eq!(s["outcome"], "sent", "{s}");
            assert!(names.insert(s["submission"]["name"].as_str().unwrap().to_string()), "a name was used twice");
        }
    }
    assert_eq!(names.len(), 200);
    let received = setup.received(SERVICE);
    assert_eq!(received.len(), 200);
    assert!(received.iter().all(|n| names.contains(n)));
    let journal = status_json(&config);
    assert_eq!(journal.len(), 200);
    assert!(journal.iter().all(|s| s["state"] == "Uploaded"));
}

#[test]
fn a_cli_killed_in_the_middle_of_a_50_mib_upload_recovers_with_one_copy() {
    let setup = start();
    let config = write_config(&setup, "state");
    let file = setup.file("big.xml", 50 * 1024 * 1024);
    let incoming = setup.sim.dir().join("users").join(&setup.client_files().username).join(".gateway/incoming");

    let mut child = cli(&config).args(["submit", "--service", SERVICE]).arg(&file).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    let mut partial = 0;
    while started.elapsed() < Duration::from_secs(60) {
        partial = std::fs::read_dir(&incoming)
            .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| e.metadata().ok()).map(|m| m.len()).max().unwrap_or(0))
            .unwrap_or(0);
        if partial >= 4 * 1024 * 1024 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(partial >= 4 * 1024 * 1024, "the upload never got going");

    let before = status_json(&config);
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["state"], "Uploading", "killed mid-upload: {before:?}");
    let name = before[0]["name"].as_str().unwrap().to_string();

    // The same command again resumes the submission under its name; then poll until it is answered.
    let out = run(cli(&config).args(["submit", "--service", SERVICE, "--json"]).arg(&file));
    let resumed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(resumed[0]["submission"]["name"], name.as_str());
    assert_eq!(resumed[0]["outcome"], "resumed");
    run(cli(&config).args(["poll", "--wait", "60s", "--interval", "200ms"]));

    let after = status_json(&config);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["state"], "Responded", "{after:?}");
    assert_eq!(after[0]["attempts"], 2);
    assert_eq!(setup.received(SERVICE), [name.as_str()], "exactly one accepted copy");
    let copy = setup.sim.dir().join("users").join(&setup.client_files().username).join(".gateway/received").join(SERVICE).join(&name);
    assert_eq!(std::fs::metadata(copy).unwrap().len(), 50 * 1024 * 1024);
}

#[test]
fn bad_config_files_are_reported_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[profiles.p]\ndeadline = \"soon\"\n").unwrap();
    let out = cli(&config).args(["status", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "configuration errors exit with 3");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("line 2") && err.contains("profiles.p.deadline"), "{err}");

    std::fs::write(&config, "[profiles.p]\njournal = \"j.sqlite\"\n").unwrap();
    let out = cli(&config).args(["status", "--profile", "q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no profile \"q\""));

    let out = cli(&dir.path().join("missing.toml")).args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn status_and_login_info_through_the_cli() {
    let setup = start();
    let config = write_config(&setup, "state");
    let file = setup.file("x.xml", 100);
    run(cli(&config).args(["submit", "--service", SERVICE, "--name", "cli-name-1.xml"]).arg(&file));
    let out = cli(&config).args(["submit", "--again", "--service", SERVICE, "--name", "cli-name-1.xml"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(9), "a reused name exits with 9");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cli-name-1.xml"));
    let polled = String::from_utf8_lossy(&run(cli(&config).args(["poll", "--wait", "30s", "--interval", "100ms"])).stdout).into_owned();
    // Plain words, no Rust debug text such as `Applied { state: Responded }`.
    assert!(polled.contains("cli-name-1.xml  now Responded"), "{polled}");
    assert!(!polled.contains('{') && !polled.contains("Applied"), "{polled}");
    let text = String::from_utf8_lossy(&run(cli(&config).args(["status", "cli-name-1.xml"])).stdout).into_owned();
    assert!(text.contains("Responded") && text.contains("status_"), "{text}");
    let out = cli(&config).args(["status", "nope.xml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "a name the journal does not know is an argument error");

    // Migration: the new password from the legacy gateway, saved with mode 0600, printed only with --show.
    let saved = setup.path("state/new-password");
    let out = run(cli(&config).args(["login-info", "--save"]).arg(&saved));
    let password = setup.client_files().gateway_password().expose().to_string();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&password) && !String::from_utf8_lossy(&out.stderr).contains(&password));
    assert_eq!(std::fs::read_to_string(&saved).unwrap().trim_end(), password);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);
    let out = cli(&config).args(["login-info", "--save"]).arg(&saved).output().unwrap();
    assert_ne!(out.status.code(), Some(0), "an existing file is not overwritten without --force");
    let out = run(cli(&config).args(["login-info", "--show"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), password);
}

#[test]
fn the_file_commands_take_their_connection_from_the_profile() {
    let setup = start();
    let config = write_config(&setup, "state");
    let text = |out: &Output| String::from_utf8_lossy(&out.stdout).into_owned();

    // ls, put, get and rm with nothing but the profile: certificate, password, CA and address all come from it.
    let listing = text(&run(cli(&config).args(["ls"])));
    assert!(listing.lines().any(|l| l.ends_with(&format!("{SERVICE}/"))), "the service folders: {listing}");
    let file = setup.file("low-level.xml", 2_000);
    run(cli(&config).arg("put").arg(&file).arg(format!("{SERVICE}/low-level.xml")));
    assert_eq!(setup.received(SERVICE), ["low-level.xml"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let out = text(&run(cli(&config).args(["ls", "out"])));
        if let Some(name) = out.split_whitespace().find(|w| w.contains("low-level.xml")) {
            break name.to_owned();
        }
        assert!(Instant::now() < deadline, "no status file for low-level.xml in out: {out}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let local = setup.path("state/status.xml");
    run(cli(&config).args(["get", "--sync", &format!("out/{status}")]).arg(&local));
    assert!(std::fs::read_to_string(&local).unwrap().contains("low-level.xml"));
    run(cli(&config).args(["rm", &format!("out/{status}")]));
    assert!(!text(&run(cli(&config).args(["ls", "out"]))).contains(&status));

    // An option given replaces the profile's setting: the legacy gateway by certificate only, another port.
    let legacy = text(&run(cli(&config).args(["ls", "--gateway", "legacy"])));
    assert!(!legacy.trim().is_empty(), "the legacy gateway's root: {legacy}");
    let refused = cli(&config).args(["ls", "--port", "1", "--timeout", "5"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(6), "a refused connection: {}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("127.0.0.1:1"));

    // A profile that is not in the file is named, with the ones that are.
    let unknown = cli(&config).args(["ls", "--profile", "nope"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nope"), "{}", String::from_utf8_lossy(&unknown.stderr));
}

#[test]
fn a_setting_in_the_environment_that_is_not_utf8_is_an_error_not_ignored() {
    use std::os::unix::ffi::OsStrExt;
    let setup = start();
    let config = write_config(&setup, "state");
    let out = cli(&config)
        .args(["poll"])
        .env("SKAT_GATEWAY_INBOX", std::ffi::OsStr::from_bytes(b"/tmp/inb\xff"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SKAT_GATEWAY_INBOX is not valid UTF-8"));
    assert!(!setup.path("state/inbox").exists(), "nothing polled into the profile's inbox instead");
}

#[test]
fn the_same_submit_run_again_sends_nothing_twice() {
    let setup = start();
    let config = write_config(&setup, "state");
    let files = [setup.file("night-1.xml", 300), setup.file("night-2.xml", 400)];
    run(cli(&config).args(["submit", "--service", SERVICE]).args(&files));
    let out = run(cli(&config).args(["submit", "--service", SERVICE]).args(&files));
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<String> = status_json(&config).iter().map(|s| s["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    for (file, name) in files.iter().zip(&names) {
        let line = format!("{}: already submitted as {name}, state Uploaded; --again sends it anyway", file.display());
        assert!(text.contains(&line), "{text}");
    }
    assert_eq!(setup.received(SERVICE), names);
    // --again sends them anyway.
    run(cli(&config).args(["submit", "--again", "--service", SERVICE]).args(&files));
    assert_eq!(setup.received(SERVICE).len(), 4);
}

#[test]
fn an_upload_with_a_chosen_name_killed_midway_is_resumed_by_the_same_command() {
    let setup = start();
    let config = write_config(&setup, "state");
    let file = setup.file("named.xml", 40 * 1024 * 1024);
    let incoming = setup.sim.dir().join("users").join(&setup.client_files().username).join(".gateway/incoming");
    let command = |c: &mut Command| c.args(["submit", "--service", SERVICE, "--name", "chosen-name-7.xml"]).arg(&file).output();

    let mut child = cli(&config)
        .args(["submit", "--service", SERVICE, "--name", "chosen-name-7.xml"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut partial = 0;
    while partial < 2 * 1024 * 1024 && started.elapsed() < Duration::from_secs(60) {
        partial = std::fs::read_dir(&incoming)
            .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| e.metadata().ok()).map(|m| m.len()).max().unwrap_or(0))
            .unwrap_or(0);
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(partial >= 2 * 1024 * 1024, "the upload never got going");
    assert_eq!(status_json(&config)[0]["state"], "Uploading");

    let out = command(&mut cli(&config)).unwrap();
    assert!(out.status.success(), "the same command resumes: {}", String::from_utf8_lossy(&out.stderr));
    let after = status_json(&config);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!((after[0]["name"].as_str(), after[0]["state"].as_str()), (Some("chosen-name-7.xml"), Some("Uploaded")));
    assert_eq!(setup.received(SERVICE), ["chosen-name-7.xml"]);

    // Other content under that name is still refused.
    let other = setup.file("other.xml", 100);
    let out = cli(&config).args(["submit", "--service", SERVICE, "--name", "chosen-name-7.xml"]).arg(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(9), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_submit_error_is_printed_once() {
    let setup = start();
    let config = write_config(&setup, "state");
    let missing = setup.path("missing.xml");
    let out = cli(&config).args(["submit", "--service", SERVICE]).arg(&missing).output().unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("missing.xml").count(), 1, "once, with the file named: {err}");

    // Several files: each failure as it happens, then a count (not the same error again).
    let good = setup.file("good.xml", 200);
    let out = cli(&config).args(["submit", "--service", SERVICE]).arg(&missing).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(11));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("missing.xml").count(), 1, "{err}");
    assert!(err.contains("1 of 2 files were not submitted"), "{err}");
    assert_eq!(setup.received(SERVICE).len(), 1);
}

#[test]
fn the_cli_refuses_an_empty_file_unless_allow_empty() {
    let setup = start();
    let config = write_config(&setup, "state");
    let empty = setup.path("half-written.xml");
    std::fs::write(&empty, b"").unwrap();
    let out = cli(&config).args(["submit", "--service", SERVICE]).arg(&empty).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-empty"));
    assert!(setup.received(SERVICE).is_empty());
    run(cli(&config).args(["submit", "--allow-empty", "--service", SERVICE]).arg(&empty));
    assert_eq!(setup.received(SERVICE).len(), 1);
}

#[test]
fn an_overdue_submission_is_closed_with_status_close() {
    let setup = start();
    let config = write_config(&setup, "state");
    let text = std::fs::read_to_string(&config).unwrap().replace("io_timeout = \"30s\"", "io_timeout = \"30s\"\ndeadline = \"1s\"");
    std::fs::write(&config, text).unwrap();
    setup.sim.set_backend_available(false);
    let file = setup.file("never.xml", 100);
    run(cli(&config).args(["submit", "--service", SERVICE, "--name", "never-answered.xml"]).arg(&file));
    std::thread::sleep(Duration::from_millis(1200));
    let out = cli(&config).args(["poll"]).output().unwrap();
    assert_eq!(out.status.code(), Some(10), "overdue: {}", String::from_utf8_lossy(&out.stderr));

    let out = run(cli(&config).args(["status", "never-answered.xml", "--close", "--reason", "agency: lost, resend"]));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("Closed") && shown.contains("agency: lost, resend"), "{shown}");
    run(cli(&config).args(["poll"])); // exits 0: nothing is overdue any more
    let journal = status_json(&config);
    assert_eq!(journal[0]["state"], "Closed");
    assert_eq!(journal[0]["close_reason"], "agency: lost, resend");
    // Closing twice, or closing without a name, is refused.
    let again = cli(&config).args(["status", "never-answered.xml", "--close"]).output().unwrap();
    assert_eq!(again.status.code(), Some(3), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(String::from_utf8_lossy(&again.stderr).contains("closed already"));
    assert_eq!(cli(&config).args(["status", "--close"]).output().unwrap().status.code(), Some(2));
}

#[test]
fn poll_reports_an_interrupted_upload_until_it_is_resubmitted() {
    use sha2::Digest;
    let setup = start();
    let config = write_config(&setup, "state");
    let file = setup.file("left.xml", 500);
    let journal_path = setup.path("state/journal.sqlite");
    let owner = setup.client_files().username.clone();
    // An upload that a killed process left behind (no process holds its upload lock), and one that is running
    // now (its claim, held here, is what a live `submit` holds).
    let journal = gateway::journal::Journal::open(&journal_path).unwrap();
    let content = std::fs::read(&file).unwrap();
    journal
        .create_submission(&gateway::journal::NewSubmission {
            owner: owner.clone(),
            name: "left-1.xml".into(),
            service: SERVICE.into(),
            gateway: "new".into(),
            local_path: Some(file.clone()),
            size: Some(content.len() as u64),
            sha256: Some(hex::encode(sha2::Sha256::digest(&content))),
            spool_path: None,
            name_chosen: false,
        })
        .unwrap();
    journal.start_upload(&owner, "left-1.xml").unwrap();
    let live = journal
        .claim_upload(
            &gateway::journal::UploadRequest {
                owner: owner.clone(),
                service: SERVICE.into(),
                gateway: "new".into(),
                local_path: None,
                size: 5,
                sha256: hex::encode(sha2::Sha256::digest(b"other")),
                name: Some("live-1.xml".into()),
                dedupe: gateway::journal::Dedupe::Always,
                snapshot: None,
            },
            &mut || unreachable!("the name is given"),
        )
        .unwrap();
    assert!(matches!(live, gateway::journal::Claim::New(_)));

    let out = cli(&config).args(["poll"]).output().unwrap();
    assert_eq!(out.status.code(), Some(10), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stale  left-1.xml") && text.contains(&format!("resubmit {} to finish it", file.display())), "{text}");
    assert!(!text.contains("live-1.xml"), "a live upload is not stale: {text}");

    // Resubmitting finishes it under its name; then poll is content.
    run(cli(&config).args(["submit", "--service", SERVICE]).arg(&file));
    assert_eq!(setup.received(SERVICE), ["left-1.xml"]);
    let out = cli(&config).args(["poll"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("stale"), "{}", String::from_utf8_lossy(&out.stdout));
    drop(live);
}

/// `--sessions` and the profile's `sessions`: out of range is a usage or configuration error before anything
/// is sent; within range the files go out once each, over that many sessions.
#[test]
fn submit_sessions_are_checked_and_used() {
    let setup = start();
    let config = write_config(&setup, "state");
    // 12 files: enough for 3 sessions (one more for each 4 files).
    let files: Vec<PathBuf> = (0..12).map(|i| setup.file(&format!("s-{i}.xml"), 300)).collect();
    for bad in ["0", "9", "many"] {
        let out = cli(&config).args(["submit", "--service", SERVICE, "--sessions", bad]).args(&files).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "--sessions {bad}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("inbox = \"inbox\"", "inbox = \"inbox\"\nsessions = 12")).unwrap();
    let out = cli(&config).args(["submit", "--service", SERVICE]).args(&files).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("sessions") && stderr.contains("1 to 8") && stderr.contains("line"), "{stderr}");
    assert!(setup.received(SERVICE).is_empty(), "nothing was sent");
    std::fs::write(&config, text.replace("inbox = \"inbox\"", "inbox = \"inbox\"\nsessions = 2")).unwrap();
    let out = run(cli(&config).args(["submit", "--service", SERVICE, "--json", "--sessions", "3"]).args(&files));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: std::collections::BTreeSet<&str> = list.iter().map(|s| s["submission"]["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 12);
    for (file, line) in files.iter().zip(&list) {
        assert_eq!(line["file"], file.display().to_string(), "in the order given");
        assert_eq!(line["outcome"], "sent");
    }
    assert_eq!(setup.received(SERVICE).len(), 12);
    // poll takes the same option, checked the same way, and fetches the 48 receipts over its sessions.
    let out = cli(&config).args(["poll", "--sessions", "9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "poll --sessions 9: {}", String::from_utf8_lossy(&out.stderr));
    // A negative number is a bad value of the option, not an unknown argument.
    let out = cli(&config).args(["poll", "--sessions", "-1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'-1' for '--sessions <N>'"), "{}", String::from_utf8_lossy(&out.stderr));
    // With --json a refused command line still gives scripts their one JSON document.
    let out = cli(&config).args(["poll", "--json", "--sessions", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let refusal: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON error on stdout");
    assert_eq!(refusal["error"]["kind"], "InvalidArgument", "{refusal}");
    assert_eq!(refusal["error"]["exit_code"], 2, "{refusal}");
    assert!(refusal["error"]["message"].as_str().unwrap().contains("--sessions"), "{refusal}");
    // An inbox that is a file is named as such, and nothing is fetched or deleted.
    let not_a_folder = setup.file("not-a-folder", 10);
    let out = cli(&config).args(["poll", "--inbox"]).arg(&not_a_folder).output().unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a folder"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(cli(&config).args(["poll", "--sessions", "3", "--wait", "30s", "--interval", "200ms", "--json"]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["pending"].as_array().unwrap().is_empty(), "{report}");
    assert!(setup.out().is_empty(), "out still holds {:?}", setup.out());
}
