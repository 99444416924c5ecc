//! The library's log (the `log` facade every module writes to), forwarded to a C callback.

use super::client::{c_text, calling_back, UserData};
use super::result::{guard, gw_result, Failure};
use std::ffi::{c_char, c_void};
use std::sync::Mutex;

/// How much a log line matters (`gw_set_log_callback`); a greater number is more detail.
pub type gw_log_level = u32;
/// No logging at all (as `max_level`).
pub const GW_LOG_OFF: gw_log_level = 0;
/// Something failed.
pub const GW_LOG_ERROR: gw_log_level = 1;
/// Something needs attention (a retry, a file left in `out`, an overdue submission).
pub const GW_LOG_WARN: gw_log_level = 2;
/// Milestones: connected, uploaded, downloaded.
pub const GW_LOG_INFO: gw_log_level = 3;
/// Details for finding a problem.
pub const GW_LOG_DEBUG: gw_log_level = 4;
/// Everything, including the FTP commands (passwords are never logged, at any level).
pub const GW_LOG_TRACE: gw_log_level = 5;

/// Receives one log line: its level (`GW_LOG_ERROR` ... `GW_LOG_TRACE`), its target (the module, e.g.
/// `gateway::gateway::client`) and the message, both UTF-8 and valid only during the call. Called on
/// whichever thread logs (the parallel sessions of a submit or poll, the simulator's own threads), but one
/// call at a time: the library serializes them, so a callback that appends to a buffer needs no lock of its
/// own. It must return normally and must not call functions on a client or session; a line logged while the
/// callback runs on the same thread is dropped. Messages never hold a password or key.
pub type gw_log_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, level: gw_log_level, target: *const c_char, message: *const c_char)>;

#[derive(Clone, Copy)]
struct Sink {
    callback: unsafe extern "C" fn(*mut c_void, gw_log_level, *const c_char, *const c_char),
    userdata: UserData,
}

static SINK: Mutex<Option<Sink>> = Mutex::new(None);

/// Held while the callback runs, so that C code sees one call at a time whatever thread logs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

thread_local! {
    /// Set on a thread while it runs the callback: a line logged from inside it (the callback calling into
    /// the library) is dropped rather than waiting for the lock this thread already holds.
    static IN_LOG_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct CallbackLogger;

impl log::Log for CallbackLogger {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if IN_LOG_CALLBACK.with(std::cell::Cell::get) {
            return;
        }
        // Copied out, so the callback runs without the lock (it may log, or change the callback).
        let sink = *SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(sink) = sink else { return };
        let level = match record.level() {
            log::Level::Error => GW_LOG_ERROR,
            log::Level::Warn => GW_LOG_WARN,
            log::Level::Info => GW_LOG_INFO,
            log::Level::Debug => GW_LOG_DEBUG,
            log::Level::Trace => GW_LOG_TRACE,
        };
        let target = c_text(record.target());
        let message = c_text(&record.args().to_string());
        let userdata = sink.userdata;
        IN_LOG_CALLBACK.with(|flag| flag.set(true));
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // SAFETY: a function of this signature, given by the caller; the strings live until it returns.
        calling_back(|| unsafe { (sink.callback)(userdata.0, level, target.as_ptr(), message.as_ptr()) });
        drop(turn);
        IN_LOG_CALLBACK.with(|flag| flag.set(false));
    }

    fn flush(&self) {}
}

static LOGGER: CallbackLogger = CallbackLogger;

fn level_filter(level: gw_log_level) -> Option<log::LevelFilter> {
    Some(match level {
        GW_LOG_OFF => log::LevelFilter::Off,
        GW_LOG_ERROR => log::LevelFilter::Error,
        GW_LOG_WARN => log::LevelFilter::Warn,
        GW_LOG_INFO => log::LevelFilter::Info,
        GW_LOG_DEBUG => log::LevelFilter::Debug,
        GW_LOG_TRACE => log::LevelFilter::Trace,
        _ => return None,
    })
}

/// Sends the library's log lines up to `max_level` (`GW_LOG_*`) to `callback` with `userdata`; `callback`
/// NULL stops logging. Process-wide (the log has one destination per process); replaces an earlier
/// callback. Without a callback nothing is logged. Errors: `GW_ERR_INVALID_ARGUMENT` for an unknown level,
/// or when the process already has another logger of the Rust `log` facade (a Rust program that links this
/// library and set up its own). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_set_log_callback(callback: gw_log_callback, userdata: *mut c_void, max_level: gw_log_level) -> gw_result {
    guard("gw_set_log_callback", || {
        let filter = level_filter(max_level)
            .ok_or_else(|| Failure::invalid(format!("{max_level} is not a gw_log_level: use GW_LOG_OFF ... GW_LOG_TRACE")))?;
        let mut sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let installed = log::set_logger(&LOGGER).is_ok() || sink.is_some() || installed_before();
        if !installed {
            return Err(Failure::invalid(
                "this process already has another logger of the Rust log facade, so the library's log cannot go to \
                 a C callback; use that logger instead",
            ));
        }
        *sink = callback.map(|callback| Sink { callback, userdata: UserData(userdata) });
        log::set_max_level(if sink.is_some() { filter } else { log::LevelFilter::Off });
        Ok(())
    })
}

/// Whether our logger is the installed one (set by an earlier call that later removed its callback).
fn installed_before() -> bool {
    std::ptr::addr_eq(log::logger(), &LOGGER as &dyn log::Log)
}
