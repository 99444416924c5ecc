//! `gw_client`: submissions exactly once, every receipt, the journal, ping and the migration password.

use super::config::{config_of, gateway_choice, gw_config, gw_gateway};
use super::handle::{self, Handle};
use super::items::{gw_poll_report, gw_receipt, gw_service_list, gw_state, gw_submission, gw_submission_list, ReceiptItem};
use super::result::{guard, guard_void, gw_result, CResult, Failure, GW_OK};
use super::strings::{
    bytes_in, check_out, opt_path_in, opt_str_in, path_in, path_text, reserve_str, str_in, write_opt, write_out, write_str,
};
use crate::error::ErrorKind;
use crate::gateway::client::Submitted;
use crate::gateway::{Client, Config, Event, PollOptions, SubmitOptions};
use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The longest submission name the library generates or accepts (the gateway's strictest cap): a name
/// buffer of `GW_NAME_MAX + 1` bytes always suffices.
pub const GW_NAME_MAX: usize = 78;

/// A connection to the gateway for one certificate, with its journal. Ownership: from
/// `gw_client_from_config`, `gw_client_connect` or `gw_client_open`; free with `gw_client_free`, which logs
/// out. Thread-safe: any thread may call any function on it; calls on one client are serialized inside (a
/// second thread waits until the first call returns), so the journal is never corrupted. Several clients,
/// in one process or many, may share one journal file.
pub struct gw_client {
    _opaque: [u8; 0],
}

impl Handle for gw_client {
    type Object = Mutex<Client>;
    const NAME: &'static str = "gw_client";
}

/// Flags of `gw_client_submit` and `gw_client_submit_bytes` (bitwise or; 0 for none).
pub type gw_submit_flags = u32;
/// Send even if the same content went to the same service before and did not fail (under a new name).
pub const GW_SUBMIT_AGAIN: gw_submit_flags = 1;
/// Send an empty file (refused by default: an empty declaration is almost always a half-written export).
pub const GW_SUBMIT_ALLOW_EMPTY: gw_submit_flags = 2;

/// What a submit did (`gw_client_submit_as`, `gw_client_submit_bytes_as`). Numbers never change.
pub type gw_submitted = u32;
/// The file was uploaded under a new name.
pub const GW_SUBMITTED_SENT: gw_submitted = 1;
/// An earlier, interrupted upload of the same content (a killed process, a network failure that outlasted
/// the retries) was finished under its recorded name.
pub const GW_SUBMITTED_RESUMED: gw_submitted = 2;
/// The same content went to the same service before and has not failed nor been closed: nothing was sent,
/// and the submission is that earlier one.
pub const GW_SUBMITTED_ALREADY_SUBMITTED: gw_submitted = 3;

/// Flags of `gw_client_poll_report` and `gw_client_poll_until_settled` (bitwise or; 0 for none).
pub type gw_poll_flags = u32;
/// Leave every file in `out` (by default, files the journal has safely recorded are deleted there).
pub const GW_POLL_KEEP_REMOTE: gw_poll_flags = 1;
/// Also delete files in `out` that belong to no submission of this journal (kept by default: one
/// certificate may serve several systems).
pub const GW_POLL_DELETE_UNKNOWN: gw_poll_flags = 2;

/// What an event reports (`gw_event_callback`). The meaning of the callback's other arguments per kind:
pub type gw_event_kind = u32;
/// Connecting: `subject` the host, `detail` `"new"` or `"legacy"`, `done` the port.
pub const GW_EVENT_CONNECTING: gw_event_kind = 1;
/// Logged in: `subject` the user name, `detail` the gateway.
pub const GW_EVENT_CONNECTED: gw_event_kind = 2;
/// A name was committed to the journal: `subject` the name, `detail` the service.
pub const GW_EVENT_RESERVED: gw_event_kind = 3;
/// The file is being copied into the spool folder before sending: `subject` the file, `done`/`total` bytes.
pub const GW_EVENT_SNAPSHOTTING: gw_event_kind = 4;
/// Upload progress: `subject` the name, `done` bytes sent of `total`.
pub const GW_EVENT_UPLOADING: gw_event_kind = 5;
/// The upload completed: `subject` the name, `done` the bytes, `total` the attempts it took.
pub const GW_EVENT_UPLOADED: gw_event_kind = 6;
/// An attempt failed on a connection problem and is retried under the same name: `subject` the name,
/// `detail` the error, `done` the attempt.
pub const GW_EVENT_RETRYING: gw_event_kind = 7;
/// Another poll of the same journal is running; this one waited for it: `subject` the lock file.
pub const GW_EVENT_WAITING_FOR_OTHER_POLL: gw_event_kind = 8;
/// A file from `out` is safely in the inbox: `subject` its name in `out`, `detail` the local path, `done`
/// the bytes.
pub const GW_EVENT_DOWNLOADED: gw_event_kind = 9;
/// A status file was applied: `subject` the status file, `detail` the submission's name, `done` the status
/// code (0-3).
pub const GW_EVENT_RECEIPT: gw_event_kind = 10;
/// A file was deleted in `out` after it was recorded: `subject` its name.
pub const GW_EVENT_DELETED_REMOTE: gw_event_kind = 11;
/// Another process (or another client on the same journal) is uploading the same content right now: this
/// submit waits for it to finish, then decides again (and usually finds the content sent). `subject` the
/// name being uploaded.
pub const GW_EVENT_WAITING_FOR_OTHER_UPLOAD: gw_event_kind = 12;

/// Called for progress and milestones of a client's calls, on the thread making the call and before the
/// call returns. `subject` and `detail` are UTF-8, never NULL (empty when unused), and valid only during
/// the callback: copy what you keep. It must return normally (no C++ exception, no longjmp) and must not
/// call functions of this library on a client or session (they refuse with `GW_ERR_INVALID_ARGUMENT`:
/// the client is busy with the call that reports).
pub type gw_event_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        kind: gw_event_kind,
        subject: *const c_char,
        detail: *const c_char,
        done: u64,
        total: u64,
    ),
>;

thread_local! {
    /// True while this thread runs a callback into C: a call back into a client or session would wait for
    /// the lock its own thread holds.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs a callback into C, marking the thread so that calls back into clients and sessions are refused.
pub(crate) fn calling_back<T>(f: impl FnOnce() -> T) -> T {
    let before = IN_CALLBACK.with(|c| c.replace(true));
    let result = f();
    IN_CALLBACK.with(|c| c.set(before));
    result
}

pub(crate) fn refuse_in_callback() -> CResult {
    if IN_CALLBACK.with(Cell::get) {
        return Err(Failure::invalid(
            "a client or session function was called from inside one of this library's callbacks, while that \
             call holds the client: return from the callback first and make the call afterwards",
        ));
    }
    Ok(())
}

/// A C `void *` that C promises may travel with its callback to whichever thread makes the call.
#[derive(Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut c_void);
// SAFETY: the header tells the caller that callbacks may run on any thread that calls the library.
unsafe impl Send for UserData {}

/// Text for a callback argument: UTF-8 without inner NULs.
pub(crate) fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{fffd}")).unwrap_or_default()
}

fn poisoned() -> Failure {
    Failure::new(
        ErrorKind::Internal.code(),
        "an earlier call on this client failed with an internal error (a caught panic), so it may be in an \
         unknown state: free it and connect a new one (the journal on disk is consistent)",
    )
}

/// Runs `f` on the client, serialized with every other call on it.
fn with_client<T>(client: *mut gw_client, f: impl FnOnce(&mut Client) -> CResult<T>) -> CResult<T> {
    refuse_in_callback()?;
    let cell = handle::get(client, "client")?;
    let mut guard: MutexGuard<'_, Client> = cell.lock().map_err(|_| poisoned())?;
    f(&mut guard)
}

fn inbox_or_default(client: &Client, inbox: Option<PathBuf>) -> PathBuf {
    inbox.unwrap_or_else(|| client.config().inbox.clone())
}

fn submit_options(name: Option<&str>, prefix: Option<&str>, flags: gw_submit_flags) -> CResult<SubmitOptions> {
    if flags & !(GW_SUBMIT_AGAIN | GW_SUBMIT_ALLOW_EMPTY) != 0 {
        return Err(Failure::invalid(format!("unknown gw_submit_flags bits in {flags:#x}: use GW_SUBMIT_AGAIN, GW_SUBMIT_ALLOW_EMPTY")));
    }
    Ok(SubmitOptions {
        name: name.map(str::to_string),
        prefix: prefix.map(str::to_string),
        again: flags & GW_SUBMIT_AGAIN != 0,
        allow_empty: flags & GW_SUBMIT_ALLOW_EMPTY != 0,
    })
}

fn poll_options(flags: gw_poll_flags) -> CResult<PollOptions> {
    if flags & !(GW_POLL_KEEP_REMOTE | GW_POLL_DELETE_UNKNOWN) != 0 {
        return Err(Failure::invalid(format!("unknown gw_poll_flags bits in {flags:#x}: use GW_POLL_KEEP_REMOTE, GW_POLL_DELETE_UNKNOWN")));
    }
    Ok(PollOptions { keep_remote: flags & GW_POLL_KEEP_REMOTE != 0, delete_unknown: flags & GW_POLL_DELETE_UNKNOWN != 0 })
}

fn connect(config: Config, out: *mut *mut gw_client, log_in: bool) -> CResult {
    let client = if log_in { Client::connect(config)? } else { Client::offline(config)? };
    handle::give(out, Mutex::new(client))
}

/// Reads `profile` (NULL: the file's default profile) of the TOML config file at `config_path`, with the
/// `SKAT_GATEWAY_*` environment variables applied (as the command-line tool does), loads the certificate,
/// opens the journal and logs in to the default gateway, so that a wrong certificate, password or address
/// shows at once. `*out` gets the new client (free it with `gw_client_free`); on failure `*out` is untouched.
/// Errors: `GW_ERR_CONFIG`, the certificate errors (2xx), TLS (3xx), network (4xx), `GW_ERR_AUTHENTICATION`,
/// `GW_ERR_JOURNAL`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_from_config(config_path: *const c_char, profile: *const c_char, out: *mut *mut gw_client) -> gw_result {
    guard("gw_client_from_config", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(config_path, "config_path") }?;
        let profile = unsafe { opt_str_in(profile, "profile") }?;
        check_out(out, "out")?;
        connect(Config::load(Some(&path), profile)?, out, true)
    })
}

/// As `gw_client_from_config`, with settings from a `gw_config` (the client keeps its own copy).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_connect(config: *const gw_config, out: *mut *mut gw_client) -> gw_result {
    guard("gw_client_connect", || {
        let config = config_of(config)?;
        check_out(out, "out")?;
        connect((*config).clone(), out, true)
    })
}

/// As `gw_client_connect`, but without logging in: the first call that needs the gateway connects. For
/// programs that only read the journal (`gw_client_state`, `gw_client_submissions`, ...) or that must start
/// while the gateway is unreachable. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_open(config: *const gw_config, out: *mut *mut gw_client) -> gw_result {
    guard("gw_client_open", || {
        let config = config_of(config)?;
        check_out(out, "out")?;
        connect((*config).clone(), out, false)
    })
}

/// Sets (or, with `callback` NULL, removes) the callback for the client's progress and milestone events
/// (`GW_EVENT_*`); `userdata` is passed to it unchanged. Replaces an earlier callback. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_set_event_callback(client: *mut gw_client, callback: gw_event_callback, userdata: *mut c_void) -> gw_result {
    guard("gw_client_set_event_callback", || {
        let userdata = UserData(userdata);
        with_client(client, |client| {
            let Some(callback) = callback else {
                client.set_event_handler(|_| {});
                return Ok(());
            };
            client.set_event_handler(move |event| {
                let userdata = userdata;
                let (kind, subject, detail, done, total) = describe_event(event);
                let (subject, detail) = (c_text(&subject), c_text(&detail));
                calling_back(|| {
                    // SAFETY: the caller gave a function of this signature; the strings live until it returns.
                    unsafe { callback(userdata.0, kind, subject.as_ptr(), detail.as_ptr(), done, total) }
                });
            });
            Ok(())
        })
    })
}

fn describe_event(event: &Event) -> (gw_event_kind, String, String, u64, u64) {
    #[allow(unreachable_patterns)]
    match event {
        Event::Connecting { gateway, host, port } => (GW_EVENT_CONNECTING, host.clone(), gateway.as_str().into(), u64::from(*port), 0),
        Event::Connected { gateway, username } => (GW_EVENT_CONNECTED, username.clone(), gateway.as_str().into(), 0, 0),
        Event::Reserved { name, service } => (GW_EVENT_RESERVED, name.clone(), service.clone(), 0, 0),
        Event::Snapshotting { file, copied, total } => (GW_EVENT_SNAPSHOTTING, file.clone(), String::new(), *copied, *total),
        Event::Uploading { name, sent, total } => (GW_EVENT_UPLOADING, name.clone(), String::new(), *sent, *total),
        Event::Uploaded { name, bytes, attempts } => (GW_EVENT_UPLOADED, name.clone(), String::new(), *bytes, u64::from(*attempts)),
        Event::Retrying { name, attempt, error } => (GW_EVENT_RETRYING, name.clone(), error.clone(), u64::from(*attempt), 0),
        Event::WaitingForOtherPoll { lock_file } => (GW_EVENT_WAITING_FOR_OTHER_POLL, path_text(lock_file), String::new(), 0, 0),
        Event::WaitingForOtherUpload { name } => (GW_EVENT_WAITING_FOR_OTHER_UPLOAD, name.clone(), String::new(), 0, 0),
        Event::Downloaded { remote_name, local_path, bytes } => {
            (GW_EVENT_DOWNLOADED, remote_name.clone(), path_text(local_path), *bytes, 0)
        }
        Event::Receipt { status_file, transaction_id, code } => {
            (GW_EVENT_RECEIPT, status_file.clone(), transaction_id.clone(), u64::from(*code), 0)
        }
        Event::DeletedRemote { remote_name } => (GW_EVENT_DELETED_REMOTE, remote_name.clone(), String::new(), 0, 0),
        // Kinds added to the core later reach C programs once they get a number here.
        _ => (0, String::new(), String::new(), 0, 0),
    }
}

/// The gateway user name this client acts as (given in the config, or derived from the certificate), by
/// the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_username(client: *mut gw_client, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_client_username", || with_client(client, |client| write_str(client.username(), buf, len, out_n)))
}

/// The inbox of the client's configuration (where `gw_client_poll(client, NULL)` downloads to), by the
/// string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_inbox(client: *mut gw_client, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_client_inbox", || with_client(client, |client| write_str(&path_text(&client.config().inbox), buf, len, out_n)))
}

/// The services this certificate may use on the default gateway (the folders it sees), into a new list
/// `*out` (free it with `gw_service_list_free`). Errors: network, TLS and FTP codes. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_services(client: *mut gw_client, out: *mut *mut gw_service_list) -> gw_result {
    guard("gw_client_services", || {
        check_out(out, "out")?;
        let services = with_client(client, |client| Ok(client.services()?))?;
        handle::give(out, services)
    })
}

/// As `gw_client_services`, on the given gateway (`GW_GATEWAY_*`). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_services_on(client: *mut gw_client, gateway: gw_gateway, out: *mut *mut gw_service_list) -> gw_result {
    guard("gw_client_services_on", || {
        let gateway = gateway_choice(gateway)?;
        check_out(out, "out")?;
        let services = with_client(client, |client| Ok(client.services_on(gateway)?))?;
        handle::give(out, services)
    })
}

/// Submits the file at `path` to `service` under a new unique name: the file is first copied into a spool
/// folder beside the journal (refused if it changes while being read), the name is committed to the
/// journal, then the copy is uploaded, retried under the same name after connection failures. On success
/// the submission's name goes into `name_buf` by the string rule and the submission is in state
/// `GW_STATE_UPLOADED`. `name_len` must be at least `GW_NAME_MAX + 1`: a smaller buffer is refused before
/// anything is sent (`GW_ERR_BUFFER_TOO_SMALL`, `*name_n` = `GW_NAME_MAX`).
/// A file whose content this certificate already submitted to the same service (upload complete, not
/// failed nor closed; for a query service such as the heartbeat, only while it waits for its answer) is not
/// sent again: the earlier submission's name is written and the result is `GW_OK` (see
/// `gw_client_submit_as` to tell the cases apart). An interrupted earlier upload of the same file is resumed
/// under its name. An empty file is refused (`GW_ERR_INVALID_ARGUMENT`).
/// Errors: `GW_ERR_SERVICE_NOT_AVAILABLE` (nothing sent), `GW_ERR_IO`, `GW_ERR_JOURNAL`, network, TLS and FTP
/// codes (the name stays recorded; submitting the same file again retries it). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_submit_file(
    client: *mut gw_client,
    service: *const c_char,
    path: *const c_char,
    name_buf: *mut c_char,
    name_len: usize,
    name_n: *mut usize,
) -> gw_result {
    guard("gw_client_submit_file", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let service = unsafe { str_in(service, "service") }?;
        let path = unsafe { path_in(path, "path") }?;
        reserve_str(GW_NAME_MAX, name_buf, name_len, name_n)?;
        let submitted = with_client(client, |client| Ok(client.submit_file(service, &path, &SubmitOptions::default())?))?;
        write_str(&submitted.submission().name, name_buf, name_len, name_n)
    })
}

/// Submits the file at `path` to `service`, as `gw_client_submit_file`, with the choices spelled out:
/// `name` (NULL: a generated unique one; else checked against the gateway's rules and the journal, which
/// refuses a name used before with `GW_ERR_FILENAME_REUSED` before anything is sent), `prefix` (NULL: the
/// file's name; the readable start of a generated name) and `flags` (`GW_SUBMIT_*`). `*out` gets the
/// submission's journal record (free it with `gw_submission_free`); `*sent` (may be NULL) is false when
/// nothing was sent because the same content was submitted before (`*out` is then that submission), true
/// when the file was sent or an interrupted upload of it finished (`gw_client_submit_as` tells the two
/// apart). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_submit(
    client: *mut gw_client,
    service: *const c_char,
    path: *const c_char,
    name: *const c_char,
    prefix: *const c_char,
    flags: gw_submit_flags,
    out: *mut *mut gw_submission,
    sent: *mut bool,
) -> gw_result {
    guard("gw_client_submit", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let service = unsafe { str_in(service, "service") }?;
        let path = unsafe { path_in(path, "path") }?;
        let options = submit_options(unsafe { opt_str_in(name, "name") }?, unsafe { opt_str_in(prefix, "prefix") }?, flags)?;
        check_out(out, "out")?;
        let submitted = with_client(client, |client| Ok(client.submit_file(service, &path, &options)?))?;
        let was_sent = !matches!(submitted, Submitted::AlreadySubmitted(_));
        handle::give(out, submitted.into_submission())?;
        write_opt(sent, was_sent);
        Ok(())
    })
}

/// Submits `len` bytes at `data` (e.g. a declaration generated in memory) to `service`, under `name` or a
/// generated one (`prefix`, NULL: "sub"; `extension`, NULL: "xml", the generated name's extension), by the
/// rules of `gw_client_submit`: content already submitted to the service (not failed, not closed) is not
/// sent again unless `GW_SUBMIT_AGAIN` (`*out` is then the earlier submission; `gw_client_submit_bytes_as`
/// tells), and 0 bytes are refused (`GW_ERR_INVALID_ARGUMENT`) unless `GW_SUBMIT_ALLOW_EMPTY`. `*out` gets
/// the submission's journal record (free it with `gw_submission_free`). The bytes are copied before the
/// call returns. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_submit_bytes(
    client: *mut gw_client,
    service: *const c_char,
    data: *const u8,
    len: usize,
    extension: *const c_char,
    name: *const c_char,
    prefix: *const c_char,
    flags: gw_submit_flags,
    out: *mut *mut gw_submission,
) -> gw_result {
    guard("gw_client_submit_bytes", || {
        // SAFETY: C strings and a (pointer, length) pair from the caller, checked for NULL and UTF-8.
        let service = unsafe { str_in(service, "service") }?;
        let bytes = unsafe { bytes_in(data, len, "data") }?;
        let extension = unsafe { opt_str_in(extension, "extension") }?.unwrap_or("xml");
        let options = submit_options(unsafe { opt_str_in(name, "name") }?, unsafe { opt_str_in(prefix, "prefix") }?, flags)?;
        check_out(out, "out")?;
        let submission = with_client(client, |client| Ok(client.submit_bytes(service, bytes, extension, &options)?))?;
        handle::give(out, submission)
    })
}

/// As `gw_client_submit`, saying what was done: `*outcome` gets `GW_SUBMITTED_SENT` (uploaded under a new
/// name), `GW_SUBMITTED_RESUMED` (an interrupted upload of the same file finished under its recorded name)
/// or `GW_SUBMITTED_ALREADY_SUBMITTED` (nothing sent; `*out` is the earlier submission). Both are written
/// only on success. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_submit_as(
    client: *mut gw_client,
    service: *const c_char,
    path: *const c_char,
    name: *const c_char,
    prefix: *const c_char,
    flags: gw_submit_flags,
    out: *mut *mut gw_submission,
    outcome: *mut gw_submitted,
) -> gw_result {
    guard("gw_client_submit_as", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let service = unsafe { str_in(service, "service") }?;
        let path = unsafe { path_in(path, "path") }?;
        let options = submit_options(unsafe { opt_str_in(name, "name") }?, unsafe { opt_str_in(prefix, "prefix") }?, flags)?;
        check_out(out, "out")?;
        check_out(outcome, "outcome")?;
        let submitted = with_client(client, |client| Ok(client.submit_file(service, &path, &options)?))?;
        give_submitted(submitted, out, outcome)
    })
}

/// As `gw_client_submit_bytes`, saying what was done in `*outcome` (`GW_SUBMITTED_*`, as
/// `gw_client_submit_as`). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_submit_bytes_as(
    client: *mut gw_client,
    service: *const c_char,
    data: *const u8,
    len: usize,
    extension: *const c_char,
    name: *const c_char,
    prefix: *const c_char,
    flags: gw_submit_flags,
    out: *mut *mut gw_submission,
    outcome: *mut gw_submitted,
) -> gw_result {
    guard("gw_client_submit_bytes_as", || {
        // SAFETY: C strings and a (pointer, length) pair from the caller, checked for NULL and UTF-8.
        let service = unsafe { str_in(service, "service") }?;
        let bytes = unsafe { bytes_in(data, len, "data") }?;
        let extension = unsafe { opt_str_in(extension, "extension") }?.unwrap_or("xml");
        let options = submit_options(unsafe { opt_str_in(name, "name") }?, unsafe { opt_str_in(prefix, "prefix") }?, flags)?;
        check_out(out, "out")?;
        check_out(outcome, "outcome")?;
        let submitted = with_client(client, |client| Ok(client.submit_bytes_as(service, bytes, extension, &options)?))?;
        give_submitted(submitted, out, outcome)
    })
}

/// Submits the `count` files of `paths` to `service` over up to the config's sessions at once
/// (`gw_config_builder_set_sessions`, default 4): each file by the rules of `gw_client_submit_as`, under a
/// generated name (`prefix` as there); a content given twice in the list is sent once. Every file is tried,
/// whatever happens to the others. For each `i`: `results[i]` gets `GW_OK` or that file's error code,
/// `submissions[i]` its journal record (NULL when it failed; free each with `gw_submission_free`), and
/// `outcomes[i]` (the whole array may be NULL) what was done, as `gw_client_submit_as` says it. All three
/// arrays have `count` elements (`count` 0: nothing to do). Returns `GW_OK` when every file was submitted;
/// else the first failed file's code, with a last error naming it and counting the others (each failure is
/// also logged with its message; to see one again, submit that file alone with `gw_client_submit_as`: it is
/// not sent twice). Callbacks (events, log) may come from the sessions' threads meanwhile, one at a time.
/// Thread-safe.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gw_client_submit_files(
    client: *mut gw_client,
    service: *const c_char,
    paths: *const *const c_char,
    count: usize,
    prefix: *const c_char,
    flags: gw_submit_flags,
    results: *mut gw_result,
    submissions: *mut *mut gw_submission,
    outcomes: *mut gw_submitted,
) -> gw_result {
    guard("gw_client_submit_files", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let service = unsafe { str_in(service, "service") }?;
        let options = submit_options(None, unsafe { opt_str_in(prefix, "prefix") }?, flags)?;
        if count == 0 {
            return Ok(());
        }
        if paths.is_null() {
            return Err(Failure::null("paths"));
        }
        check_out(results, "results")?;
        check_out(submissions, "submissions")?;
        let files = (0..count)
            .map(|i| {
                // SAFETY: the caller passes an array of `count` pointers; each is checked for NULL and UTF-8.
                let path = unsafe { *paths.add(i) };
                unsafe { path_in(path, &format!("paths[{i}]")) }
            })
            .collect::<CResult<Vec<_>>>()?;
        let done = with_client(client, |client| Ok(client.submit_files(service, &files, &options)))?;
        let mut first_failure: Option<Failure> = None;
        let mut failed = 0;
        for (i, (file, result)) in files.iter().zip(done).enumerate() {
            // SAFETY: the caller's arrays hold `count` elements (documented); `i < count`.
            let (result_slot, submission_slot) = unsafe { (results.add(i), submissions.add(i)) };
            match result {
                Ok(submitted) => {
                    let code = outcome_code(&submitted);
                    handle::give(submission_slot, submitted.into_submission())?;
                    write_out(result_slot, GW_OK, "results")?;
                    if !outcomes.is_null() {
                        // SAFETY: as above, when the caller passed the optional array.
                        write_out(unsafe { outcomes.add(i) }, code, "outcomes")?;
                    }
                }
                Err(error) => {
                    failed += 1;
                    log::warn!("not submitted: {}: {error}", file.display());
                    write_out(submission_slot, std::ptr::null_mut(), "submissions")?;
                    write_out(result_slot, error.kind().code(), "results")?;
                    if first_failure.is_none() {
                        let named = error.message().contains(&file.display().to_string());
                        first_failure = Some(Failure::from(if named { error } else { error.context(file.display()) }));
                    }
                }
            }
        }
        match first_failure {
            None => Ok(()),
            Some(mut first) => {
                if failed > 1 {
                    first.message = format!("{failed} of {count} files were not submitted; the first: {}", first.message);
                }
                Err(first)
            }
        }
    })
}

fn outcome_code(submitted: &Submitted) -> gw_submitted {
    match submitted {
        Submitted::Sent(_) => GW_SUBMITTED_SENT,
        Submitted::Resumed(_) => GW_SUBMITTED_RESUMED,
        Submitted::AlreadySubmitted(_) => GW_SUBMITTED_ALREADY_SUBMITTED,
    }
}

fn give_submitted(submitted: Submitted, out: *mut *mut gw_submission, outcome: *mut gw_submitted) -> CResult {
    let code = outcome_code(&submitted);
    handle::give(out, submitted.into_submission())?;
    write_out(outcome, code, "outcome")
}

/// The outcome's name as `submit --json` writes it (`"sent"`, `"resumed"`, `"already_submitted"`;
/// `"unknown"` for another number), in static storage: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_submitted_name(outcome: gw_submitted) -> *const c_char {
    std::panic::catch_unwind(|| {
        match outcome {
            GW_SUBMITTED_SENT => c"sent",
            GW_SUBMITTED_RESUMED => c"resumed",
            GW_SUBMITTED_ALREADY_SUBMITTED => c"already_submitted",
            _ => c"unknown",
        }
        .as_ptr()
    })
    .unwrap_or(c"unknown".as_ptr())
}

/// Downloads everything new in `out` into `inbox` (NULL: the profile's), atomically and recorded in the
/// journal, applies the status files to their submissions (receipts), and only then deletes the files
/// remotely; marks submissions past their deadline Overdue. Files of other systems sharing the
/// certificate are copied but left in `out`. To see what a poll found, use `gw_client_poll_report`.
/// Polls of one journal run one at a time, across processes: a second one waits for the first. Many files
/// are downloaded and deleted over up to the config's sessions at once (`gw_config_builder_set_sessions`);
/// callbacks (events, log) may then come from the sessions' threads, one at a time.
/// Errors: network, TLS and FTP codes, `GW_ERR_IO` (inbox), `GW_ERR_JOURNAL`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_poll(client: *mut gw_client, inbox: *const c_char) -> gw_result {
    guard("gw_client_poll", || {
        // SAFETY: C string from the caller, checked for UTF-8.
        let inbox = unsafe { opt_path_in(inbox, "inbox") }?;
        with_client(client, |client| {
            let inbox = inbox_or_default(client, inbox);
            client.poll(&inbox, &PollOptions::default())?;
            Ok(())
        })
    })
}

/// As `gw_client_poll`, with `flags` (`GW_POLL_*`), reporting what the poll found into a new report `*out`
/// (free it with `gw_poll_report_free`): every fetched file, receipt, unknown status file and file, status
/// file that could not be read, submission that became overdue and stale upload. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_poll_report(
    client: *mut gw_client,
    inbox: *const c_char,
    flags: gw_poll_flags,
    out: *mut *mut gw_poll_report,
) -> gw_result {
    guard("gw_client_poll_report", || {
        // SAFETY: C string from the caller, checked for UTF-8.
        let inbox = unsafe { opt_path_in(inbox, "inbox") }?;
        let options = poll_options(flags)?;
        check_out(out, "out")?;
        let report = with_client(client, |client| {
            let inbox = inbox_or_default(client, inbox);
            Ok(client.poll(&inbox, &options)?)
        })?;
        handle::give(out, report)
    })
}

/// Polls as `gw_client_poll_report` every `interval_ms` until no submission of this certificate waits for
/// a status any more (all Responded, Failed or Closed; heartbeats are done at status 1) or `wait_ms` has
/// passed; `*out` gets everything all those polls found. The client is busy (other threads' calls on it
/// wait) for the whole time. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_poll_until_settled(
    client: *mut gw_client,
    inbox: *const c_char,
    flags: gw_poll_flags,
    wait_ms: u64,
    interval_ms: u64,
    out: *mut *mut gw_poll_report,
) -> gw_result {
    guard("gw_client_poll_until_settled", || {
        // SAFETY: C string from the caller, checked for UTF-8.
        let inbox = unsafe { opt_path_in(inbox, "inbox") }?;
        let options = poll_options(flags)?;
        check_out(out, "out")?;
        let (wait, interval) = (Duration::from_millis(wait_ms), Duration::from_millis(interval_ms.max(1)));
        let report = with_client(client, |client| {
            let inbox = inbox_or_default(client, inbox);
            Ok(client.poll_until_settled(&inbox, &options, wait, interval)?)
        })?;
        handle::give(out, report)
    })
}

/// The state (`GW_STATE_*`) of this certificate's submission `name`, from the journal (no network), into
/// `*out`. Errors: `GW_ERR_UNKNOWN_SUBMISSION`, `GW_ERR_JOURNAL`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_state(client: *mut gw_client, name: *const c_char, out: *mut gw_state) -> gw_result {
    guard("gw_client_state", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let name = unsafe { str_in(name, "name") }?;
        check_out(out, "out")?;
        let state = with_client(client, |client| Ok(client.journal().submission(client.username(), name)?.state))?;
        write_out(out, super::items::state_code(state), "out")
    })
}

/// This certificate's submission `name` as the journal records it (state, times, receipts, response files,
/// the gateway's error), into a new `*out` (free it with `gw_submission_free`). No network.
/// Errors: `GW_ERR_UNKNOWN_SUBMISSION`, `GW_ERR_JOURNAL`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_submission(client: *mut gw_client, name: *const c_char, out: *mut *mut gw_submission) -> gw_result {
    guard("gw_client_submission", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let name = unsafe { str_in(name, "name") }?;
        check_out(out, "out")?;
        let submission = with_client(client, |client| Ok(client.journal().submission(client.username(), name)?))?;
        handle::give(out, submission)
    })
}

/// Every submission of this certificate in the journal, oldest first, into a new list `*out` (free it with
/// `gw_submission_list_free`). No network. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_submissions(client: *mut gw_client, out: *mut *mut gw_submission_list) -> gw_result {
    guard("gw_client_submissions", || {
        check_out(out, "out")?;
        let list = with_client(client, |client| Ok(client.journal().submissions(Some(client.username()))?))?;
        handle::give(out, list)
    })
}

/// The submissions of this certificate still waiting for a status, into a new list `*out`. No network.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_pending(client: *mut gw_client, out: *mut *mut gw_submission_list) -> gw_result {
    guard("gw_client_pending", || {
        check_out(out, "out")?;
        let list = with_client(client, |client| Ok(client.pending()?))?;
        handle::give(out, list)
    })
}

/// Uploads of this certificate that were interrupted (a killed process, a network failure outlasting the
/// retries) and that no live upload holds, into a new list `*out`: submit the same file again to finish
/// each (`GW_SUBMITTED_RESUMED`), or close it with `gw_client_close_submission` to abandon it. No network.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_stale_uploads(client: *mut gw_client, out: *mut *mut gw_submission_list) -> gw_result {
    guard("gw_client_stale_uploads", || {
        check_out(out, "out")?;
        let list = with_client(client, |client| Ok(client.stale_uploads()?))?;
        handle::give(out, list)
    })
}

/// This certificate's rejected submissions (status 0, or an upload refused for good) that nobody closed
/// (acknowledged) yet, into a new list `*out`. No network. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_rejected(client: *mut gw_client, out: *mut *mut gw_submission_list) -> gw_result {
    guard("gw_client_rejected", || {
        check_out(out, "out")?;
        let list = with_client(client, |client| Ok(client.rejected()?))?;
        handle::give(out, list)
    })
}

/// Closes this certificate's submission `name`, with the time and `reason` (NULL: none) kept in the
/// journal. `*out` (may be NULL) gets the updated record. What closing does depends on the state:
/// - one that waits for a status which will not come (Uploaded, Delivered, Accepted, Overdue; typically an
///   overdue one the agency says is lost) becomes `GW_STATE_CLOSED` and polls stop waiting for it (a late
///   status 3 or 0 is still recorded and wins);
/// - an interrupted upload that will not be finished (Reserved, Uploading: the file was corrected and sent
///   under a new name) is abandoned: `GW_STATE_CLOSED`, its spool copy removed, never resumed;
/// - a Failed one is acknowledged: it stays `GW_STATE_FAILED` and leaves `gw_client_rejected` and
///   `GW_REPORT_REJECTED`.
///
/// Errors: `GW_ERR_UNKNOWN_SUBMISSION`, `GW_ERR_INVALID_ARGUMENT` (Responded, closed already, or an upload
/// that a live process is running right now), `GW_ERR_JOURNAL`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_close_submission(
    client: *mut gw_client,
    name: *const c_char,
    reason: *const c_char,
    out: *mut *mut gw_submission,
) -> gw_result {
    guard("gw_client_close_submission", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let name = unsafe { str_in(name, "name") }?;
        let reason = unsafe { opt_str_in(reason, "reason") }?;
        let submission = with_client(client, |client| Ok(client.close_submission(name, reason)?))?;
        if !out.is_null() {
            handle::give(out, submission)?;
        }
        Ok(())
    })
}

/// Sends a heartbeat to `FTPSGW.Heartbeat` and polls `inbox` (NULL: the profile's) until its status 1
/// arrives, at most `timeout_ms`. `*out` gets the status 1 receipt (free it with `gw_receipt_free`; its
/// transaction id is the heartbeat's name); `*round_trip_ms` (may be NULL) the milliseconds from the upload's
/// start to the receipt. Errors: `GW_ERR_SUBMISSION_OVERDUE` (no answer in time; the upload went through),
/// `GW_ERR_SUBMISSION_REJECTED` (status 0), network, TLS and FTP codes. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_ping(
    client: *mut gw_client,
    inbox: *const c_char,
    timeout_ms: u64,
    round_trip_ms: *mut u64,
    out: *mut *mut gw_receipt,
) -> gw_result {
    guard("gw_client_ping", || {
        // SAFETY: C string from the caller, checked for UTF-8.
        let inbox = unsafe { opt_path_in(inbox, "inbox") }?;
        check_out(out, "out")?;
        let ping = with_client(client, |client| {
            let inbox = inbox_or_default(client, inbox);
            Ok(client.ping(&inbox, Duration::from_millis(timeout_ms))?)
        })?;
        handle::give(out, ReceiptItem::bare(ping.receipt))?;
        write_opt(round_trip_ms, u64::try_from(ping.round_trip.as_millis()).unwrap_or(u64::MAX));
        Ok(())
    })
}

/// Migration: logs in to the legacy gateway with the certificate alone and reads this certificate's
/// new-gateway password from `UID_<uid>/NyFTPSLoginInfo/Ny_FTPS_Login_Info.txt`, written into `buf` by the
/// string rule. The password is a secret: wipe `buf` when done, or use `gw_client_save_login_info`, which
/// never hands it to the caller. Errors: `GW_ERR_NOT_FOUND` (not placed there, or already moved), network,
/// TLS and FTP codes. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_fetch_login_info(client: *mut gw_client, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_client_fetch_login_info", || {
        check_out(out_n, "out_n")?;
        let password = with_client(client, |client| Ok(client.fetch_login_info()?))?;
        write_str(password.expose(), buf, len, out_n)
    })
}

/// As `gw_client_fetch_login_info`, writing the password into the file `path` (readable by the owner only,
/// written atomically; for `gw_config_builder_set_password_file` or a profile's `password_file`). An
/// existing file is replaced only when `overwrite` is true. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_save_login_info(client: *mut gw_client, path: *const c_char, overwrite: bool) -> gw_result {
    guard("gw_client_save_login_info", || {
        // SAFETY: C string from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(path, "path") }?;
        let password = with_client(client, |client| Ok(client.fetch_login_info()?))?;
        Ok(crate::gateway::migration::save_password(&path, &password, overwrite)?)
    })
}

/// Logs out of the gateways and frees the client. NULL, and a handle freed before, are ignored. A call
/// still running on another thread finishes first (the client goes when it returns); calls made after the
/// free get `GW_ERR_INVALID_HANDLE`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_client_free(client: *mut gw_client) {
    guard_void("gw_client_free", || handle::free(client));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_limit_is_the_core_one() {
        assert_eq!(GW_NAME_MAX, crate::gateway::names::MAX_NAME_LEN);
    }

    #[test]
    fn a_client_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Mutex<Client>>();
    }
}
