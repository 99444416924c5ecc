//! The library never raises SIGPIPE. A C, .NET or Python program that loads it keeps SIGPIPE's default
//! disposition, under which a write to a socket the peer closed kills the whole process silently. This test
//! runs itself again as such a host (SIGPIPE set back to the default before anything else), with the client
//! and the in-process simulator in it, and breaks connections under both: the host must live and see errors.

#![cfg(unix)]

mod workflow_support;

use gateway::ftp::TransferType;
use gateway::gateway::client::{PollOptions, SubmitOptions};
use gateway::sim::Fault;
use std::io::Write;
use std::process::Command;
use workflow_support::*;

const CHILD: &str = "SKAT_GATEWAY_TEST_SIGPIPE_HOST";

#[test]
fn a_host_that_keeps_sigpipe_s_default_survives_broken_connections() {
    if std::env::var_os(CHILD).is_some() {
        return host();
    }
    let me = std::env::current_exe().unwrap();
    let out = Command::new(me)
        .args(["--exact", "a_host_that_keeps_sigpipe_s_default_survives_broken_connections", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), None, "the host process was killed by a signal (13 is SIGPIPE):\n{text}");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("host survived"), "{text}");
}

/// The host: SIGPIPE at its default, then connections broken under uploads, downloads and the simulator.
fn host() {
    // SAFETY: at the start of this process's only test, before any socket exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let setup = start();
    let mut client = setup.client("state");

    // The server breaks the data connection of an upload after 1 MiB while the client still sends: the client's
    // next writes meet a closed socket. The upload is retried under the same name and lands.
    setup.sim.inject(Fault::DropDataAfter(1 << 20), Some(1));
    let s = client.submit(SERVICE, &setup.file("big.xml", 16 << 20), &SubmitOptions::default()).unwrap();
    assert!(s.attempts >= 2, "the first attempt was cut off: {s:?}");

    // The control connection is cut in the middle of the session: the next command's write fails, the client
    // reconnects.
    setup.sim.inject(Fault::DropControlAfter(6000), Some(1));
    client.poll_until_settled(&setup.path("inbox"), &PollOptions::default(), WAIT, EVERY).unwrap();

    // A client that stops reading in the middle of a download: the simulator's writes meet a closed socket, and
    // it must keep serving.
    let out = setup.sim.out_dir(&setup.client_files().username);
    std::fs::write(out.join("large-response.bin"), vec![7u8; 32 << 20]).unwrap();
    let config = setup.config("state").session_config(gateway::gateway::GatewayChoice::New, std::sync::Arc::new(setup.config("state").load_identity().unwrap())).unwrap();
    let mut session = gateway::ftp::Session::connect(&config).unwrap();
    let mut gives_up = GivesUpAfter { left: 1 << 20 };
    let error = session.get("out/large-response.bin", &mut gives_up, TransferType::Binary, None).unwrap_err();
    assert_eq!(error.kind(), gateway::ErrorKind::Io, "{error}");
    drop(session);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut again = gateway::ftp::Session::connect(&config).unwrap();
    assert!(again.list(Some("out")).unwrap().iter().any(|e| e.name == "large-response.bin"), "the simulator still serves");
    println!("host survived");
}

/// A writer that fails after some bytes, as a full disk does: the download stops reading mid-transfer.
struct GivesUpAfter {
    left: usize,
}

impl Write for GivesUpAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("no room"));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
