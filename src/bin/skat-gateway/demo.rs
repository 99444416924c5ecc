//! `skat-gateway demo`: the main job end to end against a built-in simulator.

use gateway::Result;

pub fn run() -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    gateway::sim::demo::run(&mut out)
}
