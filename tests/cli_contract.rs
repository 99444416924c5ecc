//! What scripts rely on: the exit codes, the `--json` documents (on success and on error), and the CLI's
//! handling of odd local situations (a read-only journal, a wrong file, special download targets, empty
//! passwords). The README's "For scripts" section documents what is checked here.

mod workflow_support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;
use workflow_support::*;

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn submit_json_says_what_happened_to_each_file() {
    let setup = start();
    let config = write_config(&setup, "state");
    let file = setup.file("a.xml", 100);
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(&file));
    let missing = setup.path("missing.xml");
    let out = cli(&config).args(["submit", "-s", SERVICE, "--json"]).arg(&file).arg(&missing).arg(setup.file("b.xml", 120)).output().unwrap();
    assert_eq!(code(&out), 11, "a file could not be read: {}", stderr(&out));
    let list = json(&out);
    let outcomes: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["already_submitted", "failed", "sent"]);
    assert_eq!(list[0]["submission"]["state"], "Uploaded");
    assert_eq!(list[1]["file"], missing.display().to_string());
    assert!(list[1]["submission"].is_null());
    assert_eq!(list[1]["error"]["kind"], "Io");
    assert_eq!(list[1]["error"]["exit_code"], 11);
    assert!(list[1]["error"]["message"].as_str().unwrap().contains("missing.xml"));
}

#[test]
fn every_json_command_prints_a_json_error_when_it_fails() {
    let setup = start();
    let config = write_config(&setup, "state");
    setup.sim.restart(Duration::from_millis(1)).unwrap();
    // Nobody listens on port 1: a network error, as one JSON document with the exit code in it.
    for args in [&["poll", "--json"][..], &["submit", "-s", SERVICE, "--json"], &["services", "--json"], &["ping", "--json"]] {
        let mut command = cli(&config);
        command.args(args).env("SKAT_GATEWAY_PORT", "1");
        if args[0] == "submit" {
            command.arg(setup.file("x.xml", 10));
        }
        let out = command.output().unwrap();
        assert_eq!(code(&out), 6, "{args:?}: {}", stderr(&out));
        let doc = json(&out);
        assert_eq!(doc["error"]["kind"], "ConnectionRefused", "{args:?}: {doc}");
        assert_eq!(doc["error"]["code"], 401);
        assert_eq!(doc["error"]["exit_code"], 6);
        assert!(doc["error"]["message"].as_str().unwrap().contains("127.0.0.1:1"), "{doc}");
    }
    let out = cli(&config).args(["status", "--json", "no-such-name.xml"]).output().unwrap();
    assert_eq!(code(&out), 3);
    assert_eq!(json(&out)["error"]["kind"], "UnknownSubmission");
}

#[test]
fn zero_intervals_and_time_outs_are_refused() {
    let setup = start();
    let config = write_config(&setup, "state");
    for args in [&["poll", "--wait", "5s", "--interval", "0s"][..], &["ping", "--timeout", "0s"], &["ping", "--timeout", "0"]] {
        let out = cli(&config).args(args).output().unwrap();
        assert_eq!(code(&out), 3, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("above zero"), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn ping_json_gives_the_round_trip_in_milliseconds() {
    let setup = start();
    let config = write_config(&setup, "state");
    let doc = json(&run(cli(&config).args(["ping", "--json"])));
    assert!(doc["round_trip_ms"].as_u64().is_some(), "{doc}");
    assert!(doc.get("round_trip").is_none(), "{doc}");
    assert_eq!(doc["receipt"]["code"], "Delivered");
}

#[test]
fn a_service_that_cannot_be_used_exits_3_and_uses_no_name() {
    let setup = start();
    let config = write_config(&setup, "state");
    let out = cli(&config).args(["submit", "-s", "Manifest.AnkomstdeklarationOpretX", "--name", "kept-1.xml"]).arg(setup.file("a.xml", 10)).output().unwrap();
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was sent"), "{}", stderr(&out));
    // The name was not used up: it works for the right service.
    run(cli(&config).args(["submit", "-s", SERVICE, "--name", "kept-1.xml"]).arg(setup.file("a.xml", 10)));
}

/// A rejection makes every poll exit 9 (not only the one that saw it) until it is closed; an overdue
/// submission is listed by every poll's JSON, which exits 10, until a status comes or it is closed; and
/// `poll --wait` that runs out with submissions still waiting exits 13.
#[test]
fn poll_exit_codes_follow_the_journal_not_the_last_poll() {
    let setup = start();
    let config = write_config(&setup, "state");
    let other = write_config(&setup, "other");
    // A rejection: another journal already used the name, so the gateway refuses this one with status 0.
    run(cli(&other).args(["submit", "-s", SERVICE, "--name", "dup-1.xml"]).arg(setup.file("o.xml", 10)));
    run(cli(&other).args(["poll", "--wait", "20s", "--interval", "100ms"]));
    run(cli(&config).args(["submit", "-s", SERVICE, "--name", "dup-1.xml"]).arg(setup.file("m.xml", 12)));
    let first = cli(&config).args(["poll", "--wait", "20s", "--interval", "100ms", "--json"]).output().unwrap();
    assert_eq!(code(&first), 9, "{}", stderr(&first));
    let again = cli(&config).args(["poll", "--json"]).output().unwrap();
    assert_eq!(code(&again), 9, "still rejected: {}", stderr(&again));
    assert_eq!(json(&again)["rejected"][0]["name"], "dup-1.xml");
    run(cli(&config).args(["status", "dup-1.xml", "--close", "--reason", "resent as dup-2.xml"]));
    let acknowledged = cli(&config).args(["poll", "--json"]).output().unwrap();
    assert_eq!(code(&acknowledged), 0, "{}", stderr(&acknowledged));
    assert_eq!(status_json(&config)[0]["state"], "Failed", "acknowledged, still Failed");

    // Overdue: the backend is down, the deadline 1 s.
    setup.sim.set_backend_available(false);
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("late.xml", 30)).env("SKAT_GATEWAY_DEADLINE", "3s"));
    let submitted = std::time::Instant::now();
    let waiting = cli(&config).args(["poll", "--wait", "500ms", "--interval", "100ms", "--json"]).output().unwrap();
    if submitted.elapsed() < Duration::from_secs(3) {
        assert_eq!(code(&waiting), 13, "the wait ran out with one waiting: {}", stderr(&waiting));
        assert_eq!(json(&waiting)["pending"].as_array().unwrap().len(), 1);
    }
    std::thread::sleep(Duration::from_secs(3).saturating_sub(submitted.elapsed()) + Duration::from_millis(200));
    for poll in 0..2 {
        let out = cli(&config).args(["poll", "--json"]).output().unwrap();
        assert_eq!(code(&out), 10, "poll {poll}: {}", stderr(&out));
        let doc = json(&out);
        assert_eq!(doc["overdue"].as_array().unwrap().len(), 1, "poll {poll} lists it: {doc}");
        if poll == 1 {
            assert!(doc["newly_overdue"].as_array().unwrap().is_empty(), "listed as new once only: {doc}");
        }
    }
    setup.sim.set_backend_available(true);
    let late = cli(&config).args(["poll", "--wait", "20s", "--interval", "100ms"]).output().unwrap();
    assert_eq!(code(&late), 0, "a late answer settles it: {}", stderr(&late));
}

#[cfg(unix)]
#[test]
fn status_reads_a_journal_it_may_not_write_and_never_changes_a_wrong_file() {
    use std::os::unix::fs::PermissionsExt;
    let setup = start();
    let config = write_config(&setup, "state");
    run(cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("a.xml", 10)));
    // A monitoring user (nobody) who may read the journal but not write it or its folder.
    let open = |p: &Path, mode: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    open(setup.dir.path(), 0o755);
    open(&setup.path("state"), 0o755);
    let journal = setup.path("state/journal.sqlite");
    open(&journal, 0o644);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", EXE, "status", "--json", "--journal"])
        .arg(&journal)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out).as_array().unwrap().len(), 1);

    // Another application's SQLite file: refused, and not a byte changed.
    let foreign = setup.path("orders.sqlite");
    rusqlite::Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE orders (id INTEGER);").unwrap();
    let before = std::fs::read(&foreign).unwrap();
    let out = cli(&config).args(["status", "--journal"]).arg(&foreign).output().unwrap();
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(stderr(&out).contains("not a skat-gateway journal"), "{}", stderr(&out));
    let out = cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("b.xml", 10)).env("SKAT_GATEWAY_JOURNAL", &foreign).output().unwrap();
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(std::fs::read(&foreign).unwrap() == before, "the foreign file is unchanged");

    // A journal truncated to nothing is not a new journal: old files would go out again.
    let empty = setup.path("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    let out = cli(&config).args(["submit", "-s", SERVICE]).arg(setup.file("a.xml", 10)).env("SKAT_GATEWAY_JOURNAL", &empty).output().unwrap();
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(stderr(&out).contains("is empty (0 bytes)"), "{}", stderr(&out));
    assert_eq!(setup.received(SERVICE).len(), 1, "nothing sent again");
}

#[test]
fn an_empty_password_variable_is_ignored_and_a_refused_login_says_where_the_password_came_from() {
    let setup = start();
    let config = write_config(&setup, "state");
    let out = cli_with(&config, "-v").args(["services"]).env("SKAT_GATEWAY_PASSWORD", "").output().unwrap();
    assert_eq!(code(&out), 0, "the profile's password file is used: {}", stderr(&out));
    assert!(stderr(&out).contains("SKAT_GATEWAY_PASSWORD is set but empty; ignoring it"), "{}", stderr(&out));

    let wrong = setup.path("wrong-password");
    std::fs::write(&wrong, "not-it-42\n").unwrap();
    let out = cli(&config).args(["services"]).env("SKAT_GATEWAY_PASSWORD_FILE", &wrong).output().unwrap();
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("it came from the file {}", wrong.display())), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not-it-42"));
    let out = cli(&config).args(["services"]).env("SKAT_GATEWAY_PASSWORD", "not-it-43").output().unwrap();
    assert!(stderr(&out).contains("it came from the environment variable SKAT_GATEWAY_PASSWORD"), "{}", stderr(&out));
}

/// `get` writes through what is not a regular file: /dev/null stays a device, a named pipe gets the data, a
/// symbolic link keeps pointing at its file (which gets the data), and `-` is standard output.
#[cfg(unix)]
#[test]
fn get_writes_through_devices_pipes_links_and_stdout() {
    use std::os::unix::fs::FileTypeExt;
    let setup = start();
    let config = write_config(&setup, "state");
    let out_dir = setup.sim.out_dir(&setup.client_files().username);
    std::fs::write(out_dir.join("r.xml"), b"<reply/>").unwrap();

    run(cli(&config).args(["get", "out/r.xml", "/dev/null"]));
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device(), "/dev/null is still a device");

    let stdout = run(cli(&config).args(["get", "out/r.xml", "-"]));
    assert_eq!(stdout.stdout, b"<reply/>");
    assert!(!Path::new("-").exists());

    let target = setup.path("real.xml");
    std::fs::write(&target, b"old").unwrap();
    let link = setup.path("link.xml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    run(cli(&config).args(["get", "out/r.xml"]).arg(&link));
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink(), "the link stays a link");
    assert_eq!(std::fs::read(&target).unwrap(), b"<reply/>");

    let fifo = setup.path("pipe");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let got = cli(&config).args(["get", "out/r.xml"]).arg(&fifo).stdout(Stdio::null()).output().unwrap();
    assert_eq!(code(&got), 0, "{}", stderr(&got));
    assert_eq!(reader.join().unwrap(), b"<reply/>");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the pipe is still a pipe");
}
