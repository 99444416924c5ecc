//! The main job, end to end, against an in-process simulator: what `skat-gateway demo` shows.
//!
//! identity -> connect -> services -> submit a Manifest declaration under a unique name -> wait for the status
//! files -> show the receipts and the response -> show that the gateway refuses a reused name.
//!
//! It uses the transport session directly (the submission workflow's `Client` will replace these steps).

use super::{Delays, SimConfig, SimHandle, Simulator};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::ftp::{Login, Session, SessionConfig, TransferType};
use crate::gateway::{names, Receipt};
use crate::identity::Identity;
use crate::tls::TlsOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
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
    let mut config = SimConfig::new(&folder.0);
    config.delays = Delays { delivered: Duration::from_millis(300), accepted: Duration::from_millis(400), response: Duration::from_millis(400) };
    let sim = Simulator::start(config)?;
    let result = run_against(&sim, out);
    sim.stop();
    result
}

fn run_against(sim: &SimHandle, out: &mut dyn Write) -> Result<()> {
    let client = sim.client();
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

    // 1. Identity
    let identity = Arc::new(Identity::from_file(&client.p12, Some(client.p12_password()))?);
    let info = identity.info();
    writeln!(out, "1. Identity   {}", client.p12.display()).map_err(io)?;
    writeln!(out, "   subject    {}", info.subject).map_err(io)?;
    writeln!(out, "   kind       {:?}, valid until {}", info.kind, info.not_after.date()).map_err(io)?;
    writeln!(out, "   user name  {}  (derived from the certificate's serialNumber)\n", identity.username()?).map_err(io)?;

    // 2. Connect
    let endpoint = Endpoint::custom(sim.host().to_string(), sim.port()).with_data_ports(sim.data_ports());
    let session_config = SessionConfig::new(endpoint, identity.clone(), Login::password(client.gateway_password().clone()))
        .with_tls(TlsOptions::private_ca(sim.ca_file()));
    let started = Instant::now();
    let mut session = Session::connect(&session_config)?;
    writeln!(out, "2. Connected  as {} in {} ms (explicit FTPS, TLS 1.2, client certificate)\n", session.username(), started.elapsed().as_millis())
        .map_err(io)?;

    // 3. Services
    let mut services: Vec<String> = session.list(Some("/"))?.into_iter().filter(|e| e.is_dir && e.name != "out").map(|e| e.name).collect();
    services.sort();
    writeln!(out, "3. Services   this certificate may use {} services:", services.len()).map_err(io)?;
    for service in &services {
        writeln!(out, "   - {service}").map_err(io)?;
    }
    writeln!(out).map_err(io)?;

    // 4. Submit
    let name = names::generate(Some("afgang"), Some(std::path::Path::new("declaration.xml")));
    let remote = format!("/{SERVICE}/{name}");
    let bytes = session.put(&mut SAMPLE_DECLARATION.as_bytes(), &remote, TransferType::Binary, None)?;
    writeln!(out, "4. Submitted  {bytes} bytes to {remote}").map_err(io)?;
    writeln!(out, "   (the filename is the transaction id: unique, used once)\n").map_err(io)?;

    // 5. Receipts
    writeln!(out, "5. Receipts   waiting for the status files in out/ ...").map_err(io)?;
    let receipts = wait_for_receipts(&mut session, &name, |codes| codes.contains(&3) || codes.contains(&0))?;
    for receipt in &receipts {
        show_receipt(out, receipt)?;
    }
    if let Some(response) = receipts.iter().flat_map(|r| r.response_files.iter()).next() {
        let mut body = Vec::new();
        session.get(&format!("/out/{response}"), &mut body, TransferType::Binary, None)?;
        writeln!(out, "\n   response file out/{response}:").map_err(io)?;
        for line in String::from_utf8_lossy(&body).lines() {
            writeln!(out, "   | {line}").map_err(io)?;
        }
        session.delete(&format!("/out/{response}"))?;
    }
    for receipt in &receipts {
        session.delete(&format!("/out/{}", receipt.status_file))?;
    }
    writeln!(out, "   (receipts and response fetched, then deleted from out/ as the agency asks)\n").map_err(io)?;

    // 6. Reuse
    writeln!(out, "6. Reuse      sending the same filename again ...").map_err(io)?;
    session.put(&mut SAMPLE_DECLARATION.as_bytes(), &remote, TransferType::Binary, None)?;
    let refused = wait_for_receipts(&mut session, &name, |codes| codes.contains(&0))?;
    for receipt in refused.iter().filter(|r| r.code.as_digit() == 0) {
        show_receipt(out, receipt)?;
        if let Some(error) = receipt.first_error() {
            writeln!(out, "     error.code       {}", error.code.as_deref().unwrap_or("-")).map_err(io)?;
            writeln!(out, "     error.message    {}", error.message.as_deref().unwrap_or("-")).map_err(io)?;
            writeln!(out, "     error.resolution {}", error.resolution.as_deref().unwrap_or("-")).map_err(io)?;
        }
        session.delete(&format!("/out/{}", receipt.status_file))?;
    }
    session.quit()?;
    writeln!(out, "\nDone: one declaration delivered, accepted and answered; the reused name was refused.").map_err(io)?;
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

/// Polls `out` until the status files for `name` satisfy `done` (by their codes), returning them in code order.
fn wait_for_receipts(session: &mut Session, name: &str, done: impl Fn(&[u8]) -> bool) -> Result<Vec<Receipt>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut receipts = Vec::new();
        for entry in session.list(Some("/out"))? {
            if entry.is_dir || !entry.name.starts_with("status_") || !entry.name.contains(&format!("_{name}_")) {
                continue;
            }
            let mut content = Vec::new();
            session.get(&format!("/out/{}", entry.name), &mut content, TransferType::Binary, None)?;
            receipts.push(Receipt::parse(&entry.name, &content)?);
        }
        receipts.sort_by_key(|r| r.code.as_digit());
        let codes: Vec<u8> = receipts.iter().map(|r| r.code.as_digit()).collect();
        if done(&codes) {
            return Ok(receipts);
        }
        if Instant::now() > deadline {
            return Err(Error::new(
                ErrorKind::SubmissionOverdue,
                format!("no final status for {name} within 30 s (seen: {codes:?}); the simulator may be overloaded"),
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
