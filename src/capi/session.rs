//! `gw_session`: one FTPS session (ls, put, get, rm) for callers that need only the transport, without the
//! journal's exactly-once bookkeeping.

use super::client::{calling_back, refuse_in_callback, UserData};
use super::config::{config_of, gateway_choice, gw_config, gw_gateway};
use super::handle::{self, Handle};
use super::identity::gw_identity;
use super::items::{gw_transfer_type, GW_SIZE_UNKNOWN, GW_TRANSFER_ASCII, GW_TRANSFER_BINARY};
use super::result::{guard, guard_void, gw_result, CResult, Failure};
use super::strings::{bytes_in, check_out, opt_str_in, path_in, str_in, write_opt, write_out, write_str};
use crate::error::ErrorKind;
use crate::ftp::{Durability, RemoteEntry, Session, TransferType};
use crate::identity::Identity;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex};

/// One logged-in FTPS session with a gateway: TLS 1.2 with the client certificate, data connections that
/// resume the control connection's TLS session and go only to the control connection's peer, time-outs on
/// every step. It keeps no journal: a file put twice is sent twice (use `gw_client` for submissions).
/// Ownership: from `gw_session_connect`; free with `gw_session_free` (which logs out, best effort).
/// Thread-safe: calls on one session are serialized inside.
pub struct gw_session {
    _opaque: [u8; 0],
}

/// A remote folder's entries (`gw_session_list`). Ownership: free with `gw_entry_list_free`. Immutable.
pub struct gw_entry_list {
    _opaque: [u8; 0],
}

impl Handle for gw_session {
    type Object = Mutex<Option<Session>>;
    const NAME: &'static str = "gw_session";
}

impl Handle for gw_entry_list {
    type Object = Vec<RemoteEntry>;
    const NAME: &'static str = "gw_entry_list";
}

/// Called with the bytes transferred so far (`done`) of `total` (0 when unknown) after each block, on the
/// thread making the call. It must return normally and must not call functions on a client or session.
pub type gw_progress_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, done: u64, total: u64)>;

fn transfer_type(code: gw_transfer_type) -> CResult<TransferType> {
    match code {
        GW_TRANSFER_BINARY => Ok(TransferType::Binary),
        GW_TRANSFER_ASCII => Ok(TransferType::Ascii),
        other => Err(Failure::invalid(format!("{other} is not a gw_transfer_type: use GW_TRANSFER_BINARY or GW_TRANSFER_ASCII"))),
    }
}

/// Runs `f` on the session, serialized with every other call on it.
fn with_session<T>(session: *mut gw_session, f: impl FnOnce(&mut Session) -> CResult<T>) -> CResult<T> {
    refuse_in_callback()?;
    let cell = handle::get(session, "session")?;
    let mut guard = cell.lock().map_err(|_| {
        Failure::new(ErrorKind::Internal.code(), "an earlier call on this session failed with an internal error (a caught panic): free it and connect a new one")
    })?;
    match guard.as_mut() {
        Some(session) => f(session),
        None => Err(Failure::invalid("the session was closed with gw_session_quit: connect a new one")),
    }
}

/// A progress reporter for the core, calling C.
fn reporter(callback: gw_progress_callback, userdata: *mut c_void, total: u64) -> Option<impl FnMut(u64)> {
    let userdata = UserData(userdata);
    callback.map(move |callback| {
        move |done: u64| {
            let userdata = userdata;
            // SAFETY: the caller gave a function of this signature.
            calling_back(|| unsafe { callback(userdata.0, done, total) });
        }
    })
}

/// Connects to one gateway (`GW_GATEWAY_*`) of `config` and logs in: the new gateway with the user name and
/// password, the legacy one with the certificate alone. `identity` is the certificate to use; NULL: the
/// config's certificate file. `*out` gets the new session. Errors: certificate (2xx), TLS (3xx), network
/// (4xx), `GW_ERR_AUTHENTICATION`, `GW_ERR_CONFIG` (no password). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_connect(
    config: *const gw_config,
    identity: *const gw_identity,
    gateway: gw_gateway,
    out: *mut *mut gw_session,
) -> gw_result {
    guard("gw_session_connect", || {
        let config = config_of(config)?;
        let gateway = gateway_choice(gateway)?;
        let identity: Arc<Identity> = if identity.is_null() { Arc::new(config.load_identity()?) } else { handle::get(identity, "identity")? };
        check_out(out, "out")?;
        let session = Session::connect(&config.session_config(gateway, identity)?)?;
        handle::give(out, Mutex::new(Some(session)))
    })
}

/// The user name the session logged in with, by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_username(session: *mut gw_session, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_session_username", || with_session(session, |s| write_str(s.username(), buf, len, out_n)))
}

/// Lists the remote folder `path` (NULL: the current one, the login folder) into a new list `*out` (free it
/// with `gw_entry_list_free`). Errors: `GW_ERR_NOT_FOUND`, `GW_ERR_PERMISSION_DENIED`, network codes.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_list(session: *mut gw_session, path: *const c_char, out: *mut *mut gw_entry_list) -> gw_result {
    guard("gw_session_list", || {
        // SAFETY: C string from the caller, checked for UTF-8.
        let path = unsafe { opt_str_in(path, "path") }?;
        check_out(out, "out")?;
        let entries = with_session(session, |s| Ok(s.list(path)?))?;
        handle::give(out, entries)
    })
}

/// Uploads the local file `local_path` to `remote` (e.g. `"FTPSGW.Heartbeat/ping.xml"`), streaming;
/// `progress` (may be NULL) gets the bytes sent of the file's size, with `userdata`. `*bytes` (may be NULL)
/// gets the bytes sent. On the gateway a name is used once: a second put of the same name is refused there
/// with a status 0. Errors: `GW_ERR_IO` (local file), `GW_ERR_PERMISSION_DENIED`, network codes. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_put_file(
    session: *mut gw_session,
    local_path: *const c_char,
    remote: *const c_char,
    transfer: gw_transfer_type,
    progress: gw_progress_callback,
    userdata: *mut c_void,
    bytes: *mut u64,
) -> gw_result {
    guard("gw_session_put_file", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let local = unsafe { path_in(local_path, "local_path") }?;
        let remote = unsafe { str_in(remote, "remote") }?;
        let transfer = transfer_type(transfer)?;
        let total = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0);
        let sent = with_session(session, |s| {
            let mut report = reporter(progress, userdata, total);
            Ok(s.upload_file(&local, remote, transfer, report.as_mut().map(|r| r as &mut dyn FnMut(u64)))?)
        })?;
        write_opt(bytes, sent);
        Ok(())
    })
}

/// Uploads `len` bytes at `data` to `remote` (copied before the call returns). Otherwise as
/// `gw_session_put_file`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_put_bytes(
    session: *mut gw_session,
    data: *const u8,
    len: usize,
    remote: *const c_char,
    transfer: gw_transfer_type,
) -> gw_result {
    guard("gw_session_put_bytes", || {
        // SAFETY: a (pointer, length) pair and a C string from the caller, checked for NULL and UTF-8.
        let mut data = unsafe { bytes_in(data, len, "data") }?;
        let remote = unsafe { str_in(remote, "remote") }?;
        let transfer = transfer_type(transfer)?;
        with_session(session, |s| {
            s.put(&mut data, remote, transfer, None)?;
            Ok(())
        })
    })
}

/// Downloads `remote` (e.g. `"out/status_x_1.xml"`) to the local file `local_path`, which appears whole or
/// not at all (a temporary file beside it is renamed after the server's confirmation; an existing file is
/// replaced then). With `synced` the file is on disk when this returns (do this before deleting the remote
/// copy yourself). `progress` (may be NULL) gets the bytes received (`total` 0: unknown); `*bytes` (may be
/// NULL) the bytes written. Errors: `GW_ERR_NOT_FOUND`, `GW_ERR_IO`, network codes. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_get_file(
    session: *mut gw_session,
    remote: *const c_char,
    local_path: *const c_char,
    transfer: gw_transfer_type,
    synced: bool,
    progress: gw_progress_callback,
    userdata: *mut c_void,
    bytes: *mut u64,
) -> gw_result {
    guard("gw_session_get_file", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let remote = unsafe { str_in(remote, "remote") }?;
        let local = unsafe { path_in(local_path, "local_path") }?;
        let transfer = transfer_type(transfer)?;
        let durability = if synced { Durability::Synced } else { Durability::Atomic };
        let received = with_session(session, |s| {
            let mut report = reporter(progress, userdata, 0);
            Ok(s.download_file(remote, &local, transfer, durability, report.as_mut().map(|r| r as &mut dyn FnMut(u64)))?)
        })?;
        write_opt(bytes, received);
        Ok(())
    })
}

/// Deletes the remote file `remote` (on the gateway: only in `out`). Errors: `GW_ERR_NOT_FOUND`,
/// `GW_ERR_PERMISSION_DENIED`, network codes. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_delete(session: *mut gw_session, remote: *const c_char) -> gw_result {
    guard("gw_session_delete", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let remote = unsafe { str_in(remote, "remote") }?;
        with_session(session, |s| Ok(s.delete(remote)?))
    })
}

/// The size of the remote file `remote` in bytes into `*out`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_size(session: *mut gw_session, remote: *const c_char, out: *mut u64) -> gw_result {
    guard("gw_session_size", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let remote = unsafe { str_in(remote, "remote") }?;
        check_out(out, "out")?;
        let size = with_session(session, |s| Ok(s.size(remote)?))?;
        write_out(out, size, "out")
    })
}

/// Ends the session cleanly (`QUIT`) and reports how that went; the session is closed either way (later
/// calls on it give `GW_ERR_INVALID_ARGUMENT`) and must still be freed. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_quit(session: *mut gw_session) -> gw_result {
    guard("gw_session_quit", || {
        refuse_in_callback()?;
        let cell = handle::get(session, "session")?;
        let taken = cell.lock().map(|mut s| s.take()).unwrap_or(None);
        match taken {
            Some(s) => Ok(s.quit()?),
            None => Ok(()),
        }
    })
}

/// Frees a session, logging out first if it is still open (best effort, a few seconds at most). NULL, and
/// a handle freed before, are ignored. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_session_free(session: *mut gw_session) {
    guard_void("gw_session_free", || handle::free(session));
}

fn entries(handle: *const gw_entry_list) -> CResult<Arc<Vec<RemoteEntry>>> {
    handle::get(handle, "list")
}

/// How many entries the list holds into `*out`.
#[no_mangle]
pub extern "C" fn gw_entry_list_len(list: *const gw_entry_list, out: *mut usize) -> gw_result {
    guard("gw_entry_list_len", || write_out(out, entries(list)?.len(), "out"))
}

fn entry(list: &[RemoteEntry], index: usize) -> CResult<&RemoteEntry> {
    list.get(index).ok_or_else(|| Failure::invalid(format!("index {index} is out of range: the list has {} entries, numbered from 0", list.len())))
}

/// The name (without folder) of entry `index` (from 0), by the string rule.
#[no_mangle]
pub extern "C" fn gw_entry_list_name(list: *const gw_entry_list, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_entry_list_name", || write_str(&entry(&entries(list)?, index)?.name, buf, len, out_n))
}

/// Into `*out`: whether entry `index` is a folder.
#[no_mangle]
pub extern "C" fn gw_entry_list_is_dir(list: *const gw_entry_list, index: usize, out: *mut bool) -> gw_result {
    guard("gw_entry_list_is_dir", || write_out(out, entry(&entries(list)?, index)?.is_dir, "out"))
}

/// The size in bytes of entry `index` into `*out`: `GW_SIZE_UNKNOWN` for a folder, or when the listing does
/// not tell.
#[no_mangle]
pub extern "C" fn gw_entry_list_size(list: *const gw_entry_list, index: usize, out: *mut u64) -> gw_result {
    guard("gw_entry_list_size", || write_out(out, entry(&entries(list)?, index)?.size.unwrap_or(GW_SIZE_UNKNOWN), "out"))
}

/// Frees a list. NULL, and a handle freed before, are ignored.
#[no_mangle]
pub extern "C" fn gw_entry_list_free(list: *mut gw_entry_list) {
    guard_void("gw_entry_list_free", || handle::free(list));
}
