//! `gw_simulator`: the gateway simulator in-process, so C and .NET test suites get the same local gateway
//! that Rust tests and Python's fixture use.

use super::handle::{self, Handle};
use super::result::{guard, guard_void, gw_result, CResult};
use super::strings::{check_out, path_in, write_out, write_str};
use std::ffi::c_char;

/// A running gateway simulator (new and legacy gateway on loopback, with its own test PKI, a client
/// certificate and password, and a `client.toml` profile for it). Ownership: from `gw_simulator_start*`;
/// free with `gw_simulator_free`, which stops it. Thread-safe.
pub struct gw_simulator {
    _opaque: [u8; 0],
}

mod running {
    use std::path::PathBuf;

    /// The simulator and what callers ask about it, kept so the answers stay after a stop. Without the
    /// cargo feature `sim` none is ever made: starting one fails with GW_ERR_SIMULATOR.
    pub(crate) struct Simulator {
        #[cfg(feature = "sim")]
        pub(crate) handle: std::sync::Mutex<Option<crate::sim::SimHandle>>,
        pub(crate) port: u16,
        pub(crate) legacy_port: u16,
        pub(crate) client_config: PathBuf,
        pub(crate) username: String,
        pub(crate) dir: PathBuf,
    }
}

impl Handle for gw_simulator {
    type Object = running::Simulator;
    const NAME: &'static str = "gw_simulator";
}

#[cfg(feature = "sim")]
fn start(dir: std::path::PathBuf, adjust: impl FnOnce(&mut crate::sim::SimConfig), out: *mut *mut gw_simulator) -> CResult {
    use crate::sim::{SimConfig, Simulator};
    let mut config = SimConfig::new(dir);
    adjust(&mut config);
    let sim = Simulator::start(config)?;
    let client_config = sim.write_client_config()?;
    sim.write_ready_file()?;
    let object = running::Simulator {
        port: sim.port(),
        legacy_port: sim.legacy_port().unwrap_or(0),
        client_config,
        username: sim.client().username.clone(),
        dir: sim.dir().to_path_buf(),
        handle: std::sync::Mutex::new(Some(sim)),
    };
    handle::give(out, object)
}

#[cfg(not(feature = "sim"))]
fn start(_dir: std::path::PathBuf, _adjust: impl FnOnce(&mut ()), _out: *mut *mut gw_simulator) -> CResult {
    Err(super::result::Failure::new(
        crate::error::ErrorKind::Simulator.code(),
        "this build of libgateway has no simulator (built without the cargo feature `sim`)",
    ))
}

fn simulator(sim: *const gw_simulator) -> CResult<std::sync::Arc<running::Simulator>> {
    handle::get(sim, "sim")
}

/// Starts the simulator in the folder `dir` (created if missing; its test PKI, certificate and passwords are
/// made on the first start and reused after) on free loopback ports, with passive data ports 36000-39999,
/// and writes `dir/client.toml` (a profile `sim` for it: give it to `gw_client_from_config`) and
/// `dir/ready.json`, as `skat-gateway sim --dir` does. Returns when the ports accept connections. `*out`
/// gets the running simulator. Errors: `GW_ERR_SIMULATOR` (e.g. a port in use), `GW_ERR_IO`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_start(dir: *const c_char, out: *mut *mut gw_simulator) -> gw_result {
    guard("gw_simulator_start", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let dir = unsafe { path_in(dir, "dir") }?;
        check_out(out, "out")?;
        start(dir, |_| {}, out)
    })
}

/// As `gw_simulator_start`, on given ports: `port` for the new gateway and `legacy_port` for the legacy one
/// (0: a free one), passive data ports `data_first`-`data_last`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_start_with_ports(
    dir: *const c_char,
    port: u16,
    legacy_port: u16,
    data_first: u16,
    data_last: u16,
    out: *mut *mut gw_simulator,
) -> gw_result {
    guard("gw_simulator_start_with_ports", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let dir = unsafe { path_in(dir, "dir") }?;
        check_out(out, "out")?;
        if data_first == 0 || data_first > data_last {
            return Err(super::result::Failure::invalid(format!(
                "{data_first}-{data_last} is not a port range: the first port must be at least 1 and not above the last"
            )));
        }
        #[cfg(feature = "sim")]
        let adjust = |config: &mut crate::sim::SimConfig| {
            config.port = port;
            config.legacy_port = Some(legacy_port);
            config.data_ports = data_first..=data_last;
        };
        #[cfg(not(feature = "sim"))]
        let adjust = |_: &mut ()| {
            let _ = (port, legacy_port);
        };
        start(dir, adjust, out)
    })
}

/// The path of the simulator's `client.toml`, by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_client_config(sim: *const gw_simulator, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_simulator_client_config", || {
        write_str(&super::strings::path_text(&simulator(sim)?.client_config), buf, len, out_n)
    })
}

/// The simulator's folder (absolute), by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_dir(sim: *const gw_simulator, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_simulator_dir", || {
        write_str(&super::strings::path_text(&simulator(sim)?.dir), buf, len, out_n)
    })
}

/// The gateway user name of the simulator's client certificate (`CVR_12345678_UID_9876543210`), by the
/// string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_username(sim: *const gw_simulator, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_simulator_username", || {
        write_str(&simulator(sim)?.username, buf, len, out_n)
    })
}

/// The new gateway's control port into `*out`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_port(sim: *const gw_simulator, out: *mut u16) -> gw_result {
    guard("gw_simulator_port", || {
        write_out(out, simulator(sim)?.port, "out")
    })
}

/// The legacy gateway's control port into `*out`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_legacy_port(sim: *const gw_simulator, out: *mut u16) -> gw_result {
    guard("gw_simulator_legacy_port", || {
        write_out(out, simulator(sim)?.legacy_port, "out")
    })
}

/// Takes the simulated backend systems down (`available` false: nothing is delivered and no status is
/// written, as when the agency's backend is down; the legacy gateway answers new uploads with status 0) or
/// up again (waiting files go on). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_set_backend_available(sim: *const gw_simulator, available: bool) -> gw_result {
    guard("gw_simulator_set_backend_available", || {
        let sim = simulator(sim)?;
        #[cfg(feature = "sim")]
        if let Some(running) = sim.handle.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            running.set_backend_available(available);
        }
        #[cfg(not(feature = "sim"))]
        let _ = (sim, available);
        Ok(())
    })
}

/// Stops the simulator: both gateways close every connection and stop listening. The handle stays valid
/// (its folder, ports and `client.toml` path can still be read) and must still be freed; a second stop does
/// nothing. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_stop(sim: *const gw_simulator) -> gw_result {
    guard("gw_simulator_stop", || {
        let sim = simulator(sim)?;
        #[cfg(feature = "sim")]
        if let Some(running) = sim.handle.lock().unwrap_or_else(|p| p.into_inner()).take() {
            running.stop();
        }
        #[cfg(not(feature = "sim"))]
        let _ = sim;
        Ok(())
    })
}

/// Stops the simulator (if it still runs) and frees the handle. NULL, and a handle freed before, are
/// ignored. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_simulator_free(sim: *mut gw_simulator) {
    guard_void("gw_simulator_free", || handle::free(sim));
}
