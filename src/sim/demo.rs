//! The main job, end to end, against an in-process simulator: what `skat-gateway demo` shows.
//!
//! identity -> connect -> services -> submit a Manifest declaration (unique name, journal) -> poll until the
//! status files 1, 2 and 3 and the response are in the inbox -> the journal's record -> a reused name refused,
//! first by the journal before anything is sent, then (from a second journal) by the gateway's status 0.
//!
//! It runs the library's submission workflow (`gateway::gateway::Client`) with the profile the simulator
//! writes to its `client.toml`, exactly as `skat-gateway --config DIR/client.toml submit/poll` would.

use super::{Delays, SimConfig, SimHandle, Simulator};
use crate::error::{Error, ErrorKind, Result};
use crate::gateway::client::{PollOptions, SubmitOptions};
use crate::gateway::{Client, ConfigFile, Receipt};
use crate::journal::{format_ms, SubmissionState};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SERVICE: &str = "Manifest.AfgangsdeklarationOpret";

/// A small departure declaration, shaped like what a shipping agent's system sends.
const SAMPLE_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<AfgangsdeklarationOpret>
  <Afsender>
    <CVRNummer>12345678</CVRNummer>
    <Navn>Simulator Test ApS</Navn>
  </Afsender>
  <Transportmiddel>
    <IMONummer>9321483</IMONummer>
    <Navn>MV Aurora Nordica</Navn>
    <Nationalitet>DK</Nationalitet>
  </Transportmiddel>
  <Rejse>
    <Afgangshavn>DKAAR</Afgangshavn>
    <NaesteHavn>NOOSL</NaesteHavn>
    <ForventetAfgang>2026-11-28T22:00:00Z</ForventetAfgang>
  </Rejse>
  <Vareposter>
    <Varepost nummer="1">
      <Beskrivelse>Machine parts</Beskrivelse>
      <Bruttovaegt enhed="kg">12450</Bruttovaegt>
      <Containernummer>MSKU1234565</Containernummer>
    </Varepost>
  </Vareposter>
</AfgangsdeklarationOpret>
"#;

/// A temporary folder removed when dropped (also on error).
struct TempFolder(PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn io(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot write the demo's output: {e}")).with_source(e)
}

/// Runs the demo, writing a readable account to `out`. Starts and stops its own simulator in a temporary folder.
pub fn run(out: &mut dyn Write) -> Result<()> {
    let folder = TempFolder(std::env::temp_dir().join(format!("skat-gateway-demo-{}-{}", std::process::id(), super::unix_millis())));
    // Only this user may look inside: it holds the demo's (throwaway) keys and passwords, and stays behind if
    // the demo is killed before it can remove it.
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut private = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut private, 0o700);
    private.create(&folder.0).map_err(|e| {
        Error::new(ErrorKind::Io, format!("cannot create the demo folder {}: {e}", folder.0.display())).with_source(e)
    })?;
    let mut config = SimConfig::new(&folder.0);
    config.delays = Delays { delivered: Duration::from_millis(300), accepted: Duration::from_millis(400), response: Duration::from_millis(400) };
    let sim = Simulator::start(config)?;
    let result = run_against(&sim, out);
    sim.stop();
    result
}

fn run_against(sim: &SimHandle, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "skat-gateway demo: the main job against the built-in gateway simulator\n").map_err(io)?;
    writeln!(
        out,
        "Simulator: new gateway on {}:{} (TLS 1.2 only, certificate + user name + password), legacy gateway on port {}",
        sim.host(),
        sim.port(),
        sim.legacy_port().map(|p| p.to_string()).unwrap_or_else(|| "-".into())
    )
    .map_err(io)?;
    writeln!(out, "           folder {} (removed afterwards)\n", sim.dir().display()).map_err(io)?;

    // 1. Profile and identity
    let config_path = sim.write_client_config()?;
    let config = ConfigFile::load(&config_path)?.profile(Some("sim"))?;
    writeln!(out, "1. Profile    {} [profiles.sim]", config_path.display()).map_err(io)?;
    writeln!(out, "   journal    {}", config.journal.display()).map_err(io)?;
    writeln!(out, "   inbox      {}", config.inbox.display()).map_err(io)?;
    let inbox = config.inbox.clone();

    // 2. Connect
    let started = Instant::now();
    let mut client = Client::connect(config.clone())?;
    writeln!(
        out,
        "2. Connected  as {} in {} ms (explicit FTPS, TLS 1.2, client certificate + password)",
        client.username(),
        started.elapsed().as_millis()
    )
    .map_err(io)?;
    writeln!(out, "   user name  {}  (derived from the certificate's serialNumber)\n", client.username()).map_err(io)?;

    // 3. Services
    let services = client.services()?;
    writeln!(out, "3. Services   this certificate may use {} services:", services.len()).map_err(io)?;
    for service in &services {
        writeln!(out, "   - {}", service.name).map_err(io)?;
    }
    writeln!(out).map_err(io)?;

    // 4. Submit
    let declaration = sim.dir().join("afgang.xml");
    std::fs::write(&declaration, SAMPLE_DECLARATION).map_err(io)?;
    let submission = client.submit(SERVICE, &declaration, &SubmitOptions::default())?;
    let name = submission.name.clone();
    writeln!(out, "4. Submitted  {} bytes to {SERVICE} as {name}", submission.size.unwrap_or(0)).map_err(io)?;
    writeln!(out, "   (the filename is the transaction id: unique, committed to the journal before the upload)").map_err(io)?;
    writeln!(out, "   state      {}\n", submission.state).map_err(io)?;

    // 5. Receipts
    writeln!(out, "5. Receipts   polling out/ into the inbox until the submission is answered ...").map_err(io)?;
    let report = client.poll_until_settled(&inbox, &PollOptions::default(), Duration::from_secs(30), Duration::from_millis(250))?;
    let mut receipts: Vec<&Receipt> = report.receipts.iter().map(|r| &r.receipt).filter(|r| r.transaction_id == name).collect();
    receipts.sort_by_key(|r| r.code);
    for receipt in &receipts {
        show_receipt(out, receipt)?;
    }
    let record = client.journal().submission(client.username(), &name)?;
    if record.state != SubmissionState::Responded {
        return Err(Error::new(
            ErrorKind::SubmissionOverdue,
            format!("{name} is {} after 30 s, not Responded; the simulator may be overloaded", record.state),
        ));
    }
    if let Some(response) = record.response_files.first() {
        let local = response.local_path.clone().unwrap_or_else(|| inbox.join(&response.remote_name));
        let body = std::fs::read(&local).map_err(io)?;
        writeln!(out, "\n   response file {} (in the inbox):", response.remote_name).map_err(io)?;
        for line in String::from_utf8_lossy(&body).lines() {
            writeln!(out, "   | {line}").map_err(io)?;
        }
    }
    writeln!(out, "   (every file downloaded atomically, recorded in the journal, then deleted from out/)\n").map_err(io)?;

    // 6. The journal's record
    writeln!(out, "6. Journal    `skat-gateway status {name}` shows:").map_err(io)?;
    writeln!(out, "   state      {}   attempts {}   SKAT id {}", record.state, record.attempts, record.skat_transaction_id.as_deref().unwrap_or("-"))
        .map_err(io)?;
    for (label, at) in [
        ("uploaded", record.uploaded_at),
        ("delivered", record.delivered_at),
        ("accepted", record.accepted_at),
        ("responded", record.responded_at),
    ] {
        if let Some(at) = at {
            writeln!(out, "   {label:<10} {}", format_ms(at)).map_err(io)?;
        }
    }
    writeln!(out).map_err(io)?;

    // 7. Reuse
    writeln!(out, "7. Reuse      submitting again under the name {name} ...").map_err(io)?;
    // `again`: the same content would otherwise be recognised as submitted already and not sent at all.
    let again = SubmitOptions { name: Some(name.clone()), again: true, ..SubmitOptions::default() };
    match client.submit(SERVICE, &declaration, &again) {
        Err(e) if e.kind() == ErrorKind::FilenameReused => {
            writeln!(out, "   refused locally, nothing sent: {e}").map_err(io)?;
        }
        Err(e) => return Err(e),
        Ok(_) => return Err(Error::new(ErrorKind::Internal, "the journal accepted a reused name")),
    }
    writeln!(out, "   ... and from a second system with its own journal, which the gateway answers itself:").map_err(io)?;
    let mut other_config = config.clone();
    other_config.journal = sim.dir().join("other-system.sqlite");
    let other_inbox = sim.dir().join("other-inbox");
    let mut other = Client::connect(other_config)?;
    other.submit(SERVICE, &declaration, &again)?;
    let refused = other.poll_until_settled(&other_inbox, &PollOptions::default(), Duration::from_secs(30), Duration::from_millis(250))?;
    for receipt in refused.receipts.iter().map(|r| &r.receipt).filter(|r| r.transaction_id == name) {
        show_receipt(out, receipt)?;
        if let Some(error) = receipt.first_error() {
            writeln!(out, "     error.code       {}", error.code.as_deref().unwrap_or("-")).map_err(io)?;
            writeln!(out, "     error.message    {}", error.message.as_deref().unwrap_or("-")).map_err(io)?;
            writeln!(out, "     error.resolution {}", error.resolution.as_deref().unwrap_or("-")).map_err(io)?;
        }
    }
    let state = other.journal().submission(other.username(), &name)?.state;
    writeln!(out, "   the second system's journal now says: {state}").map_err(io)?;
    let _ = other.close();
    let _ = client.close();
    writeln!(out, "\nDone: one declaration delivered, accepted and answered; the reused name was refused twice.").map_err(io)?;
    Ok(())
}

fn show_receipt(out: &mut dyn Write, receipt: &Receipt) -> Result<()> {
    writeln!(
        out,
        "   status {}  {:<47} {}  SKAT id {}",
        receipt.code.as_digit(),
        receipt.status_text.as_deref().unwrap_or("-"),
        receipt.timestamp.as_deref().unwrap_or("-"),
        receipt.skat_transaction_id.as_deref().unwrap_or("-"),
    )
    .map_err(io)
}
