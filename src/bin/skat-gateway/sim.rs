//! `skat-gateway sim`: run the gateway simulator until SIGINT/SIGTERM.

use clap::Args;
use gateway::sim::{SimConfig, Simulator};
use gateway::Result;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;

#[derive(Args)]
pub struct SimArgs {
    /// The simulator folder: PKI and client files are created on the first run and reused afterwards.
    #[arg(long)]
    dir: PathBuf,
    /// The address to listen on (0.0.0.0 or :: for every address; then give --server-name for the others).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// A host name or address clients will use to reach the simulator (repeat for several): the server
    /// certificate covers it, and the first goes into client.toml. Loopback and the listen address are
    /// always covered.
    #[arg(long = "server-name", value_name = "NAME")]
    server_names: Vec<String>,
    /// The new gateway's control port (0: a free one; see ready.json).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The legacy gateway's control port (0: a free one).
    #[arg(long, default_value_t = 0)]
    legacy_port: u16,
    /// The passive data ports, FIRST-LAST.
    #[arg(long, default_value = "36000-39999", value_parser = parse_range)]
    data_ports: RangeInclusive<u16>,
}

fn parse_range(text: &str) -> std::result::Result<RangeInclusive<u16>, String> {
    let (first, last) = text.split_once('-').ok_or_else(|| format!("{text:?}: write the range as FIRST-LAST, e.g. 36000-39999"))?;
    let first: u16 = first.trim().parse().map_err(|_| format!("{first:?} is not a port number"))?;
    let last: u16 = last.trim().parse().map_err(|_| format!("{last:?} is not a port number"))?;
    if first == 0 || first > last {
        return Err(format!("{text:?}: the first port must be at least 1 and not above the last"));
    }
    Ok(first..=last)
}

pub fn run(args: SimArgs) -> Result<()> {
    let mut config = SimConfig::new(&args.dir);
    config.host = args.host;
    config.server_names = args.server_names;
    config.port = args.port;
    config.legacy_port = Some(args.legacy_port);
    config.data_ports = args.data_ports;
    let sim = Simulator::start(config)?;
    let client_config = sim.write_client_config()?;
    let ready = sim.write_ready_file()?;
    let client = sim.client();
    let _ = crate::out!("skat-gateway simulator running (Ctrl-C to stop)");
    let _ = crate::out!("  new gateway     {}:{} (clients connect to {})", sim.host(), sim.port(), sim.client_host());
    if let Some(legacy) = sim.legacy_port() {
        let _ = crate::out!("  legacy gateway  {}:{legacy}", sim.host());
    }
    let _ = crate::out!("  user name       {}", client.username);
    let _ = crate::out!("  certificate     {} (password in {})", client.p12.display(), client.p12_password_file.display());
    let _ = crate::out!("  gateway pw      {}", client.gateway_password_file.display());
    let _ = crate::out!("  CA              {}", sim.ca_file().display());
    let _ = crate::out!("  client config   {}", client_config.display());
    let _ = crate::out!("  ready           {}", ready.display());
    // A closed stdout does not stop the simulator: it serves until it is told to stop.
    sim.wait_for_signal()?;
    let _ = crate::out!("stopping");
    sim.stop();
    let _ = std::fs::remove_file(&ready);
    Ok(())
}
