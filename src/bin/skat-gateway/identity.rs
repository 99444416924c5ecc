//! `skat-gateway identity show|export` (to be written by the identity work).
use gateway::Result;

#[derive(clap::Subcommand)]
pub enum IdentityCommand {
    /// Show what the gateway reads from a certificate.
    Show,
}

pub fn run(_cmd: IdentityCommand) -> Result<()> {
    Ok(())
}
