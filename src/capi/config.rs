//! `gw_config_builder` -> `gw_config`: the settings a client or session runs with, from a TOML profile or
//! built field by field.

use super::handle::{self, Handle};
use super::result::{guard, guard_void, gw_result, CResult, Failure};
use super::strings::{check_out, opt_path_in, opt_str_in, path_in, path_text, secret_in, str_in, write_str};
use crate::gateway::config::environment_address;
use crate::gateway::{Config, GatewayChoice};
use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which of the agency's two gateways.
pub type gw_gateway = u32;
/// The new gateway (port 6381): certificate plus user name and password, TLS 1.2.
pub const GW_GATEWAY_NEW: gw_gateway = 0;
/// The legacy gateway (port 6371): certificate only; during the migration, and for its `out` folder after.
pub const GW_GATEWAY_LEGACY: gw_gateway = 1;

/// The agency's environments (`gw_config_builder_set_environment`).
pub type gw_environment = u32;
/// The test environment "TFE", `secureftpgatewaytest.skat.dk`.
pub const GW_ENVIRONMENT_TFE: gw_environment = 0;
/// Production, `secureftpgateway.skat.dk`.
pub const GW_ENVIRONMENT_PRODUCTION: gw_environment = 1;

/// Settings being put together, field by field or starting from a profile. Ownership: from
/// `gw_config_builder_new` or `gw_config_builder_from_file`; free with `gw_config_builder_free`.
/// Thread-safe (calls are serialized), though one thread usually builds it.
pub struct gw_config_builder {
    _opaque: [u8; 0],
}

/// Finished, immutable settings: what `gw_client_connect`, `gw_client_open` and `gw_session_connect` take
/// (each keeps its own copy, so the config may be freed right after). Ownership: from
/// `gw_config_builder_build` or `gw_config_from_file`; free with `gw_config_free`. Immutable, so
/// thread-safe: any number of threads may connect with one config at once.
pub struct gw_config {
    _opaque: [u8; 0],
}

impl Handle for gw_config_builder {
    type Object = Mutex<Config>;
    const NAME: &'static str = "gw_config_builder";
}

impl Handle for gw_config {
    type Object = Config;
    const NAME: &'static str = "gw_config";
}

pub(crate) fn gateway_choice(gateway: gw_gateway) -> CResult<GatewayChoice> {
    match gateway {
        GW_GATEWAY_NEW => Ok(GatewayChoice::New),
        GW_GATEWAY_LEGACY => Ok(GatewayChoice::Legacy),
        other => Err(Failure::invalid(format!(
            "{other} is not a gw_gateway: use GW_GATEWAY_NEW ({GW_GATEWAY_NEW}) or GW_GATEWAY_LEGACY ({GW_GATEWAY_LEGACY})"
        ))),
    }
}

pub(crate) fn gateway_code(gateway: GatewayChoice) -> gw_gateway {
    match gateway {
        GatewayChoice::New => GW_GATEWAY_NEW,
        GatewayChoice::Legacy => GW_GATEWAY_LEGACY,
    }
}

pub(crate) fn config_of(config: *const gw_config) -> CResult<Arc<Config>> {
    handle::get(config, "config")
}

/// Runs `change` on the builder's settings.
fn edit(builder: *mut gw_config_builder, change: impl FnOnce(&mut Config) -> CResult) -> CResult {
    let builder = handle::get(builder, "builder")?;
    let mut config = builder.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    change(&mut config)
}

/// A builder with nothing but defaults: the TFE environment (both gateways' hosts and ports), system trust
/// roots, time-outs of 30 s (connect) and 2 min (each read or write), a deadline of 6 hours, journal
/// `journal.sqlite` and inbox `inbox` in the current folder (set both: a service's current folder is rarely
/// the right place), no certificate and no password. The environment variables `SKAT_GATEWAY_*` are not
/// read (`gw_config_builder_from_file` reads them). `*out` gets a new builder. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_new(out: *mut *mut gw_config_builder) -> gw_result {
    guard("gw_config_builder_new", || {
        check_out(out, "out")?;
        let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        handle::give(out, Mutex::new(Config::defaults(&base)))
    })
}

/// A builder starting from `profile` (NULL: the file's default profile) of the TOML config file at `path`,
/// with the environment variables `SKAT_GATEWAY_*` applied on top, exactly as the command-line tool reads
/// it; relative paths in the file are relative to the file's folder. `*out` gets a new builder.
/// Errors: `GW_ERR_CONFIG` (naming the file, line and key). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_from_file(
    path: *const c_char,
    profile: *const c_char,
    out: *mut *mut gw_config_builder,
) -> gw_result {
    guard("gw_config_builder_from_file", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(path, "path") }?;
        let profile = unsafe { opt_str_in(profile, "profile") }?;
        check_out(out, "out")?;
        handle::give(out, Mutex::new(Config::load(Some(&path), profile)?))
    })
}

/// The finished settings: `*out` gets a new, immutable `gw_config` holding a copy of the builder's
/// settings. The builder stays valid (change it and build again for a second config) and must still be
/// freed. Nothing is checked here beyond what the setters checked: a missing certificate or password shows
/// at connect. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_build(builder: *const gw_config_builder, out: *mut *mut gw_config) -> gw_result {
    guard("gw_config_builder_build", || {
        let builder = handle::get(builder, "builder")?;
        check_out(out, "out")?;
        let config = builder.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        handle::give(out, config)
    })
}

/// Both gateways' hosts, ports and data-port ranges of an agency environment (`GW_ENVIRONMENT_*`).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_environment(builder: *mut gw_config_builder, environment: gw_environment) -> gw_result {
    guard("gw_config_builder_set_environment", || {
        let name = match environment {
            GW_ENVIRONMENT_TFE => "tfe",
            GW_ENVIRONMENT_PRODUCTION => "production",
            other => return Err(Failure::invalid(format!("{other} is not a gw_environment: use GW_ENVIRONMENT_TFE or GW_ENVIRONMENT_PRODUCTION"))),
        };
        edit(builder, |config| {
            for gateway in [GatewayChoice::New, GatewayChoice::Legacy] {
                if let Some(address) = environment_address(name, gateway) {
                    *config.address_mut(gateway) = address;
                }
            }
            Ok(())
        })
    })
}

/// The host (name or IP address, UTF-8) and control port of one gateway (`GW_GATEWAY_*`), e.g. a simulator
/// or a test server. Clears that gateway's data-port range (set it again with
/// `gw_config_builder_set_data_ports` if wanted). Errors: `GW_ERR_INVALID_ARGUMENT` (empty host, port 0).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_address(
    builder: *mut gw_config_builder,
    gateway: gw_gateway,
    host: *const c_char,
    port: u16,
) -> gw_result {
    guard("gw_config_builder_set_address", || {
        let gateway = gateway_choice(gateway)?;
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let host = unsafe { str_in(host, "host") }?.trim();
        if host.is_empty() {
            return Err(Failure::invalid("the host is empty: give a host name or IP address"));
        }
        if port == 0 {
            return Err(Failure::invalid("port 0 is not a port: give the gateway's control port (6381 new, 6371 legacy)"));
        }
        edit(builder, |config| {
            let address = config.address_mut(gateway);
            address.host = host.to_string();
            address.port = port;
            address.data_ports = None;
            Ok(())
        })
    })
}

/// The passive data-port range `first`-`last` of one gateway: a data port outside it is logged as a warning
/// (the range a firewall must open). `first` = `last` = 0 removes the range. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_data_ports(builder: *mut gw_config_builder, gateway: gw_gateway, first: u16, last: u16) -> gw_result {
    guard("gw_config_builder_set_data_ports", || {
        let gateway = gateway_choice(gateway)?;
        let range = match (first, last) {
            (0, 0) => None,
            (first, last) if first == 0 || first > last => {
                return Err(Failure::invalid(format!("{first}-{last} is not a port range: the first port must be at least 1 and not above the last")))
            }
            (first, last) => Some(first..=last),
        };
        edit(builder, |config| {
            config.address_mut(gateway).data_ports = range;
            Ok(())
        })
    })
}

/// The certificate file (PKCS#12 or PEM) and, for PEM with the key in a file of its own, `key_path`
/// (NULL: the key is in the certificate file, or it is PKCS#12). Read at connect. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_certificate(
    builder: *mut gw_config_builder,
    path: *const c_char,
    key_path: *const c_char,
) -> gw_result {
    guard("gw_config_builder_set_certificate", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(path, "path") }?;
        let key = unsafe { opt_path_in(key_path, "key_path") }?;
        edit(builder, |config| {
            config.certificate = Some(path);
            config.key = key;
            Ok(())
        })
    })
}

/// The PKCS#12 file's password, as `len` bytes of UTF-8 (no NUL needed; the library keeps its copy in
/// memory that is wiped when freed, so wipe yours when you like). Replaces a password file. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_certificate_password(builder: *mut gw_config_builder, password: *const u8, len: usize) -> gw_result {
    guard("gw_config_builder_set_certificate_password", || {
        // SAFETY: (pointer, length) from the caller, checked for NULL.
        let secret = unsafe { secret_in(password, len, "password") }?;
        edit(builder, |config| {
            config.certificate_password = Some(secret);
            config.certificate_password_file = None;
            Ok(())
        })
    })
}

/// A file whose first line is the PKCS#12 file's password (read at connect). Replaces a password given as
/// bytes. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_certificate_password_file(builder: *mut gw_config_builder, path: *const c_char) -> gw_result {
    guard("gw_config_builder_set_certificate_password_file", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(path, "path") }?;
        edit(builder, |config| {
            config.certificate_password_file = Some(path);
            config.certificate_password = None;
            Ok(())
        })
    })
}

/// The agency's password for the new gateway, as `len` bytes of UTF-8 (kept in wiped memory, as
/// `gw_config_builder_set_certificate_password`). Replaces a password file. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_password(builder: *mut gw_config_builder, password: *const u8, len: usize) -> gw_result {
    guard("gw_config_builder_set_password", || {
        // SAFETY: (pointer, length) from the caller, checked for NULL.
        let secret = unsafe { secret_in(password, len, "password") }?;
        if secret.is_empty() {
            return Err(Failure::invalid("the gateway password is empty: give the password the agency assigned"));
        }
        edit(builder, |config| {
            config.password = Some(secret);
            config.password_file = None;
            Ok(())
        })
    })
}

/// A file whose first line is the new gateway's password (read at connect; `gw_client_save_login_info`
/// writes such a file). Replaces a password given as bytes. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_password_file(builder: *mut gw_config_builder, path: *const c_char) -> gw_result {
    guard("gw_config_builder_set_password_file", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(path, "path") }?;
        edit(builder, |config| {
            config.password_file = Some(path);
            config.password = None;
            Ok(())
        })
    })
}

/// The gateway user name to log in with, when the one derived from the certificate is wrong (NULL: derive
/// it again). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_username(builder: *mut gw_config_builder, username: *const c_char) -> gw_result {
    guard("gw_config_builder_set_username", || {
        // SAFETY: C string from the caller, checked for UTF-8.
        let username = unsafe { opt_str_in(username, "username") }?.filter(|u| !u.is_empty()).map(str::to_string);
        edit(builder, |config| {
            config.username = username;
            Ok(())
        })
    })
}

/// A PEM file of extra CA certificates to trust for the server (e.g. a simulator's `ca.pem`); NULL: none.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_ca_file(builder: *mut gw_config_builder, path: *const c_char) -> gw_result {
    guard("gw_config_builder_set_ca_file", || {
        // SAFETY: C string from the caller, checked for UTF-8.
        let path = unsafe { opt_path_in(path, "path") }?;
        edit(builder, |config| {
            config.ca_file = path;
            Ok(())
        })
    })
}

/// Whether the system's trust roots are trusted too (default true; a private CA alone: false).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_system_roots(builder: *mut gw_config_builder, system_roots: bool) -> gw_result {
    guard("gw_config_builder_set_system_roots", || {
        edit(builder, |config| {
            config.system_roots = system_roots;
            Ok(())
        })
    })
}

/// The journal (SQLite file) that records every name used, submission and download. Keep one per
/// certificate and system, in a place that survives restarts: it is what makes every file go exactly once.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_journal(builder: *mut gw_config_builder, path: *const c_char) -> gw_result {
    guard("gw_config_builder_set_journal", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(path, "path") }?;
        edit(builder, |config| {
            config.journal = path;
            Ok(())
        })
    })
}

/// The folder polls download into when given no other (`gw_client_poll(client, NULL)`). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_inbox(builder: *mut gw_config_builder, path: *const c_char) -> gw_result {
    guard("gw_config_builder_set_inbox", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(path, "path") }?;
        edit(builder, |config| {
            config.inbox = path;
            Ok(())
        })
    })
}

/// How long after its upload a submission may wait for status 2 before it becomes Overdue, in
/// milliseconds (default 6 hours: the gateway itself never reports a lost file). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_deadline_ms(builder: *mut gw_config_builder, deadline_ms: u64) -> gw_result {
    guard("gw_config_builder_set_deadline_ms", || {
        if deadline_ms == 0 {
            return Err(Failure::invalid("a deadline of 0 ms makes every submission overdue at once: give e.g. 21600000 (6 h)"));
        }
        edit(builder, |config| {
            config.deadline = Duration::from_millis(deadline_ms);
            Ok(())
        })
    })
}

/// The time-outs in milliseconds: `connect_ms` for opening a connection, `io_ms` for each read or write
/// (a server reply, a block of data). Neither may be 0 (that would wait forever). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_timeouts(builder: *mut gw_config_builder, connect_ms: u64, io_ms: u64) -> gw_result {
    guard("gw_config_builder_set_timeouts", || {
        if connect_ms == 0 || io_ms == 0 {
            return Err(Failure::invalid("a time-out of 0 would wait forever: give e.g. 30000 (30 s)"));
        }
        edit(builder, |config| {
            config.connect_timeout = Duration::from_millis(connect_ms);
            config.io_timeout = Duration::from_millis(io_ms);
            Ok(())
        })
    })
}

/// The gateway (`GW_GATEWAY_*`) used for services no route names, and logged in to by `gw_client_connect`.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_default_gateway(builder: *mut gw_config_builder, gateway: gw_gateway) -> gw_result {
    guard("gw_config_builder_set_default_gateway", || {
        let gateway = gateway_choice(gateway)?;
        edit(builder, |config| {
            config.default_gateway = gateway;
            Ok(())
        })
    })
}

/// Routes the services matching `pattern` (a service name, or a prefix and `*`, e.g. `"Manifest.*"`) to
/// `gateway`: the migration moves systems in bundles. The longest matching pattern wins; a route for the
/// same pattern is replaced. Errors: `GW_ERR_INVALID_ARGUMENT` for a pattern that is neither. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_add_route(builder: *mut gw_config_builder, pattern: *const c_char, gateway: gw_gateway) -> gw_result {
    guard("gw_config_builder_add_route", || {
        let gateway = gateway_choice(gateway)?;
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let pattern = unsafe { str_in(pattern, "pattern") }?;
        edit(builder, |config| Ok(config.add_route(pattern, gateway)?))
    })
}

/// How often an upload is tried on connection failures (always under the same name) before it is left for
/// a later submit of the same file (default 4; 1-100). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_upload_attempts(builder: *mut gw_config_builder, attempts: u32) -> gw_result {
    guard("gw_config_builder_set_upload_attempts", || {
        if !(1..=100).contains(&attempts) {
            return Err(Failure::invalid(format!("{attempts} upload attempts: give 1 to 100")));
        }
        edit(builder, |config| {
            config.upload_attempts = attempts;
            Ok(())
        })
    })
}

/// How many sessions `gw_client_submit_files` and the polls (`gw_client_poll` and its kin) use at once
/// (default 4; 1-8); one more is opened for each 4 files only. Each session logs in with the same
/// certificate; the agency publishes no limit, and 4 is assumed safe. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_set_sessions(builder: *mut gw_config_builder, sessions: u32) -> gw_result {
    guard("gw_config_builder_set_sessions", || {
        if !(1..=crate::gateway::MAX_SESSIONS).contains(&sessions) {
            return Err(Failure::invalid(format!("{sessions} sessions: give 1 to {}", crate::gateway::MAX_SESSIONS)));
        }
        edit(builder, |config| {
            config.sessions = sessions;
            Ok(())
        })
    })
}

/// Frees a builder. NULL, and a handle freed before, are ignored; configs built from it stay valid.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_builder_free(builder: *mut gw_config_builder) {
    guard_void("gw_config_builder_free", || handle::free(builder));
}

/// The settings of `profile` (NULL: the default profile) of the TOML config file at `path`, with the
/// `SKAT_GATEWAY_*` environment variables applied, as `gw_config_builder_from_file` then
/// `gw_config_builder_build`. `*out` gets a new config. Errors: `GW_ERR_CONFIG`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_from_file(path: *const c_char, profile: *const c_char, out: *mut *mut gw_config) -> gw_result {
    guard("gw_config_from_file", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(path, "path") }?;
        let profile = unsafe { opt_str_in(profile, "profile") }?;
        check_out(out, "out")?;
        handle::give(out, Config::load(Some(&path), profile)?)
    })
}

/// The profile's name (`"default"` for a config built from scratch), by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_profile(config: *const gw_config, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_config_profile", || write_str(&config_of(config)?.profile, buf, len, out_n))
}

/// The journal's path, by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_journal(config: *const gw_config, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_config_journal", || write_str(&path_text(&config_of(config)?.journal), buf, len, out_n))
}

/// The inbox's path, by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_inbox(config: *const gw_config, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_config_inbox", || write_str(&path_text(&config_of(config)?.inbox), buf, len, out_n))
}

/// Frees a config. NULL, and a handle freed before, are ignored; clients and sessions made from it keep
/// their own copy. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_config_free(config: *mut gw_config) {
    guard_void("gw_config_free", || handle::free(config));
}
